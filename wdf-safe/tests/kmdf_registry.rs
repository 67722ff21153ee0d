//! The driver's `Parameters` key: a `REG_DWORD` value is read; a missing value, a value of
//! another type and a service without the key each fail with the status KMDF returns.
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::Mutex;

use wdf_safe::{DriverContext, KmdfDriver, NtResult, NtStatus, RegistryValue};
use wdm_compat::host::IoManager;

/// What DriverEntry read: the key's opening, then three values.
static READ: Mutex<Vec<NtResult<u32>>> = Mutex::new(Vec::new());
static TURNS: Mutex<()> = Mutex::new(());

struct Reader;

impl KmdfDriver for Reader {
    fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        let mut read = READ.lock().unwrap();
        read.clear();
        match driver.parameters() {
            Ok(key) => {
                read.push(Ok(0));
                for name in ["periodms", "Missing", "Label"] {
                    read.push(key.query_u32(name));
                }
            }
            Err(status) => read.push(Err(status)),
        }
        Ok(Self)
    }
}

#[test]
fn dword_values_are_read_and_the_others_fail_as_kmdf_says() {
    let _turn = TURNS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let io = IoManager::new();
    wdf_safe::set_driver_parameter(&io, "reader", "PeriodMs", RegistryValue::Dword(250));
    wdf_safe::set_driver_parameter(&io, "reader", "Label", RegistryValue::String("x".into()));
    let driver = io
        .load_driver("reader", wdf_safe::entry_point::<Reader>())
        .unwrap();
    assert_eq!(
        *READ.lock().unwrap(),
        [
            Ok(0),
            Ok(250),
            Err(NtStatus::OBJECT_NAME_NOT_FOUND),
            Err(NtStatus::OBJECT_TYPE_MISMATCH)
        ]
    );
    io.unload_driver(driver).unwrap();
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn a_service_without_a_parameters_key_cannot_open_it() {
    let _turn = TURNS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let io = IoManager::new();
    io.load_driver("reader", wdf_safe::entry_point::<Reader>())
        .unwrap();
    assert_eq!(
        *READ.lock().unwrap(),
        [Err(NtStatus::OBJECT_NAME_NOT_FOUND)]
    );
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}
