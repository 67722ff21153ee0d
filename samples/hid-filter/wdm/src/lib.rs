//! The hid-filter sample as a WDM driver: the logic lives in `samples/hid-filter`.
#![no_std]
wdm_compat::wdm_driver_entry!(wdm_compat::io::WdmBackend<hid_filter::HidFilter>);
