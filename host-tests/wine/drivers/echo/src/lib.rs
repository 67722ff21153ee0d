//! The echo sample as a WDM driver.
#![no_std]
wdm_compat::wdm_driver_entry!(wdm_compat::io::WdmBackend<echo::Echo>);
