//! The driver's `Parameters` key (`WdfDriverOpenParametersRegistryKey`,
//! shared/core/km/fxdriverapikm.cpp; `WdfRegistryQueryULong`, `WdfRegistryClose`): a
//! simulated `HKLM\System\CurrentControlSet\Services\<service>\Parameters` per driver, whose
//! values tests set before or after loading ([`crate::set_driver_parameter`]).
//!
//! Opened for reading, as KMDF does through `IoOpenDriverRegistryKey`: a service without a
//! `Parameters` key gets `STATUS_OBJECT_NAME_NOT_FOUND`. Names are case-insensitive.

use std::collections::BTreeMap;
use std::string::String;

use wdm_compat::NtStatus;

use super::lifecycle;
use super::objects::{Body, Handle};
use super::{Cx, Framework};

/// A registry value, of the types the simulation knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistryValue {
    /// `REG_DWORD`.
    Dword(u32),
    /// `REG_SZ`.
    String(String),
}

/// Every service's `Parameters` values, by lower-cased service and value name.
pub(crate) type Parameters = BTreeMap<String, BTreeMap<String, RegistryValue>>;

/// A `WDFKEY`: the service whose `Parameters` key it is.
pub(crate) struct KeyBody {
    service: String,
}

/// Sets a value of `service`'s `Parameters` key (creating the key).
pub(crate) fn set(fx: &Framework, service: &str, name: &str, value: RegistryValue) {
    fx.lock()
        .parameters
        .entry(service.to_lowercase())
        .or_default()
        .insert(name.to_lowercase(), value);
}

/// `WdfDriverOpenParametersRegistryKey` for reading: a `WDFKEY` under the driver.
pub(crate) fn open_parameters(cx: &Cx, driver: Handle) -> Result<Handle, NtStatus> {
    let service = cx.image.name.to_lowercase();
    if !cx.lock().parameters.contains_key(&service) {
        return Err(NtStatus::OBJECT_NAME_NOT_FOUND);
    }
    lifecycle::create_object(cx, Some(driver), None, Body::Key(KeyBody { service }))
}

/// `WdfRegistryQueryULong`.
pub(crate) fn query_u32(cx: &Cx, key: Handle, name: &str) -> Result<u32, NtStatus> {
    let state = cx.lock();
    let service = &state
        .objects
        .get(key)
        .and_then(|o| o.key())
        .ok_or(NtStatus::INVALID_HANDLE)?
        .service;
    match state
        .parameters
        .get(service)
        .and_then(|values| values.get(&name.to_lowercase()))
    {
        Some(RegistryValue::Dword(value)) => Ok(*value),
        Some(RegistryValue::String(_)) => Err(NtStatus::OBJECT_TYPE_MISMATCH),
        None => Err(NtStatus::OBJECT_NAME_NOT_FOUND),
    }
}
