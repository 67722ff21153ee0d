//! The KMDF echo sample as a KMDF driver: the logic lives in `samples/kmdf-echo`.
#![no_std]
wdf_safe::kmdf_driver_entry!(kmdf_echo::KmdfEcho);
