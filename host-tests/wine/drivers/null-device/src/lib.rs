//! The null-device sample as a WDM driver.
#![no_std]
wdm_compat::wdm_driver_entry!(wdm_compat::io::WdmBackend<null_device::NullDevice>);
