//! The null-device sample as a WDM driver: the logic lives in `samples/null-device`.
#![no_std]
wdm_compat::wdm_driver_entry!(wdm_compat::io::WdmBackend<null_device::NullDevice>);
