//! The kbfiltr sample as a KMDF driver: the logic lives in `samples/kbfiltr`.
#![no_std]
wdf_safe::kmdf_driver_entry!(kbfiltr::KbFiltr);
