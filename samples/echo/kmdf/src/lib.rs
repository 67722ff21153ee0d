//! The echo sample as a KMDF driver: the logic lives in `samples/echo`.
#![no_std]
wdf_safe::kmdf_driver_entry!(wdf_safe::io::KmdfBackend<echo::Echo>);
