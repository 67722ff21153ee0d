//! The hid-filter sample as a KMDF driver: the logic lives in `samples/hid-filter`.
#![no_std]
wdf_safe::kmdf_driver_entry!(wdf_safe::io::KmdfBackend<hid_filter::HidFilter>);
