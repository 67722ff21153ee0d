//! The echo sample as a WDM driver: the logic lives in `samples/echo`.
#![no_std]
wdm_compat::wdm_driver_entry!(wdm_compat::io::WdmBackend<echo::Echo>);
