//! The toaster sample as a KMDF driver: the logic lives in `samples/toaster`.
#![no_std]
wdf_safe::kmdf_driver_entry!(toaster::Toaster);
