//! `WDFKEY`: the driver's `Parameters` key, opened for reading.

use core::ptr::{self, NonNull};

use super::driver::DriverHandle;
use super::wdk_sys::{self, WDFKEY, call_unsafe_wdf_function_binding};
use super::{unicode, utf16};
use crate::sys::DriverCallbacks;
use wdm_compat::{NtResult, NtStatus};

/// `KEY_READ`.
const KEY_READ: u32 = 0x0002_0019;

/// The driver's `Parameters` key, closed (`WdfRegistryClose`) when dropped.
pub(crate) struct ParametersKey(NonNull<wdk_sys::WDFKEY__>);

impl<D: DriverCallbacks> DriverHandle<'_, '_, D> {
    /// `WdfDriverOpenParametersRegistryKey(KEY_READ)`.
    pub(crate) fn open_parameters_key(&self) -> NtResult<ParametersKey> {
        let mut key: WDFKEY = ptr::null_mut();
        // SAFETY: this DriverEntry's WDFDRIVER, at PASSIVE_LEVEL; no attributes; the
        // out-pointer is a local.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfDriverOpenParametersRegistryKey,
                self.raw_driver(),
                KEY_READ,
                ptr::null_mut(),
                &mut key
            )
        };
        NtStatus::from_raw(status).ok()?;
        NonNull::new(key)
            .map(ParametersKey)
            .ok_or(NtStatus::INSUFFICIENT_RESOURCES)
    }
}

impl ParametersKey {
    /// `WdfRegistryQueryULong`: the `REG_DWORD` value `name`.
    pub(crate) fn query_u32(&self, name: &str) -> NtResult<u32> {
        let units = utf16(name)?;
        let name = unicode(&units);
        let mut value: u32 = 0;
        // SAFETY: a key the crate opened and closes only on drop; the name and the out-value
        // are locals that outlive the call.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfRegistryQueryULong,
                self.0.as_ptr(),
                &name,
                &mut value
            )
        };
        NtStatus::from_raw(status).ok()?;
        Ok(value)
    }
}

impl Drop for ParametersKey {
    fn drop(&mut self) {
        // SAFETY: closes (and deletes) the key the crate opened, once.
        unsafe { call_unsafe_wdf_function_binding!(WdfRegistryClose, self.0.as_ptr()) };
    }
}
