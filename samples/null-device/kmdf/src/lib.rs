//! The null-device sample as a KMDF driver: the logic lives in `samples/null-device`.
#![no_std]
wdf_safe::kmdf_driver_entry!(wdf_safe::io::KmdfBackend<null_device::NullDevice>);
