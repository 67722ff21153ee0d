//! The keyboard class service callback, hooked the way kbfiltr hooks it: on
//! `IOCTL_INTERNAL_KEYBOARD_CONNECT` the filter keeps the class driver's `CONNECT_DATA` (its
//! device object and service callback) and writes its own in their place before the request
//! goes down, so the port driver calls [`service_callback`], which lets the driver see the
//! keystrokes and then calls the class driver's callback with them.
//!
//! | DDI | IRQL | used by |
//! |---|---|---|
//! | `WdfRequestRetrieveInputBuffer` (the connect's `Type3InputBuffer`) | ≤ DISPATCH | [`RequestHandle::hook_keyboard_connect`] |
//! | `WdfDeviceWdmGetDeviceObject` | ≤ DISPATCH | [`RequestHandle::hook_keyboard_connect`] |
//! | `WdfWdmDeviceGetWdfDeviceHandle` | ≤ DISPATCH | [`service_callback`] |
//!
//! The class driver's callback is a raw function pointer; the crate calls it with exactly what
//! the port driver gave, as kbfiltr does. Nothing a driver writes in safe code reaches it: the
//! connect's buffer is never lent to driver code, and a synchronous internal send of a
//! METHOD_NEITHER IOCTL (whose buffer could carry a forged callback) is refused.

use core::ffi::c_void;
use core::ptr;

use super::contexts::ObjectHead;
use super::device::{DeviceHandle, DeviceRecord};
use super::driver::driver_of_type;
use super::request::{RequestHandle, device_of};
use super::wdk_sys::{self, PDEVICE_OBJECT, call_unsafe_wdf_function_binding};
use super::{guarded, record_of};
use crate::sys::{ContextTypeInfo, KeyboardHook, KeyboardInputData};
use wdm_compat::{NtResult, NtStatus, SpinLock};

/// `CONNECT_DATA` (kbdmou.h).
#[repr(C)]
#[derive(Clone, Copy)]
struct ConnectData {
    class_device_object: PDEVICE_OBJECT,
    class_service: *mut c_void,
}

/// `PSERVICE_CALLBACK_ROUTINE` (kbdmou.h): the class device object, the first
/// `KEYBOARD_INPUT_DATA`, one past the last, and the `ULONG` count consumed.
type ServiceRoutine = unsafe extern "C" fn(*mut c_void, *mut c_void, *mut c_void, *mut c_void);

/// The class driver's connection a filter device forwards its keystrokes to.
#[derive(Clone, Copy)]
struct Upper {
    device: *mut c_void,
    service: ServiceRoutine,
}

/// A filter device's hooked connection, a context of the device's record.
struct Connection(SpinLock<Option<Upper>>);

// SAFETY: the pointers are the class driver's device object and callback, which the kernel
// lets any thread use at DISPATCH_LEVEL or below; the lock serializes reads and writes.
unsafe impl Send for Connection {}
// SAFETY: as above.
unsafe impl Sync for Connection {}

static CONNECTION: ContextTypeInfo = ContextTypeInfo {
    name: "keyboard class connection",
};

impl RequestHandle {
    /// kbfiltr's `IOCTL_INTERNAL_KEYBOARD_CONNECT`: keeps the class driver's connection in the
    /// request's device and puts this device and [`service_callback::<D>`] in its place. The
    /// request is still the driver's, to pass down.
    ///
    /// `STATUS_SHARING_VIOLATION` when the device is connected already; the request's own
    /// failures (`STATUS_BUFFER_TOO_SMALL`, `STATUS_INVALID_DEVICE_REQUEST` for a request
    /// from no queue of a device of this driver).
    pub(crate) fn hook_keyboard_connect<D: KeyboardHook>(&mut self) -> NtResult {
        // Only a device of this driver's own type can be hooked: the callback reads its record
        // as `DeviceRecord<D>` (and `driver_of_type::<D>()` refuses another type).
        driver_of_type::<D>().ok_or(NtStatus::INVALID_DEVICE_REQUEST)?;
        let queue = self.queue().ok_or(NtStatus::INVALID_DEVICE_REQUEST)?;
        let device = device_of(queue);
        // The device record starts with its `ObjectHead` (`repr(C)`).
        let head = record_of::<ObjectHead<wdk_sys::WDFDEVICE__>>(device.cast());
        // SAFETY: the request's device lives while the driver owns the request, and so does
        // its record.
        let head = unsafe { head.as_ref() }.ok_or(NtStatus::INVALID_DEVICE_REQUEST)?;
        let connect = self.connect_data().ok_or(NtStatus::BUFFER_TOO_SMALL)?;
        // SAFETY: a live device of this driver's (the request's queue's).
        let own = unsafe { call_unsafe_wdf_function_binding!(WdfDeviceWdmGetDeviceObject, device) };
        if own.is_null() {
            return Err(NtStatus::INVALID_DEVICE_STATE);
        }
        let connection = match head.contexts.find::<Connection>(&CONNECTION) {
            Some(connection) => connection,
            None => head
                .contexts
                .allocate(&CONNECTION, || Connection(SpinLock::new(None)), None)
                .or_else(|status| head.contexts.find::<Connection>(&CONNECTION).ok_or(status))?,
        };
        // SAFETY: a context of the record, which lives for this call (above).
        let connection = unsafe { connection.as_ref() };
        let mut upper = connection.0.lock();
        if upper.is_some() {
            return Err(NtStatus::SHARING_VIOLATION);
        }
        // SAFETY: the connect's `Type3InputBuffer` is the class driver's `CONNECT_DATA`, at
        // least its size and aligned (checked), which it lends to the drivers below until
        // the IOCTL completes; the driver owns the request, so nothing else writes it now.
        let class = unsafe { connect.read() };
        let Some(service) = service_routine(class.class_service) else {
            return Err(NtStatus::INVALID_PARAMETER);
        };
        *upper = Some(Upper {
            device: class.class_device_object.cast(),
            service,
        });
        drop(upper);
        // One function pointer, registered and written: two casts of a generic function need
        // not give the same address.
        let hooked: ServiceRoutine = service_callback::<D>;
        register(hooked);
        // SAFETY: as for the read.
        unsafe {
            connect.write(ConnectData {
                class_device_object: own,
                class_service: hooked as *mut c_void,
            });
        }
        Ok(())
    }

    /// Undoes [`hook_keyboard_connect`](Self::hook_keyboard_connect) when the connect could
    /// not be passed down: the class driver's `CONNECT_DATA` back as it was, the connection
    /// forgotten.
    pub(crate) fn unhook_keyboard_connect(&self) {
        let Some(queue) = self.queue() else { return };
        let head = record_of::<ObjectHead<wdk_sys::WDFDEVICE__>>(device_of(queue).cast());
        // SAFETY: the request's device lives while the driver owns the request, and so does
        // its record and the record's contexts.
        let Some(connection) = unsafe { head.as_ref() }
            .and_then(|head| head.contexts.find::<Connection>(&CONNECTION))
            // SAFETY: a context of that record, as above.
            .map(|connection| unsafe { connection.as_ref() })
        else {
            return;
        };
        let Some(upper) = connection.0.lock().take() else {
            return;
        };
        if let Some(connect) = self.connect_data() {
            // SAFETY: as in `hook_keyboard_connect`: the class driver's `CONNECT_DATA`, lent
            // with the request the driver still owns.
            unsafe {
                connect.write(ConnectData {
                    class_device_object: upper.device.cast(),
                    class_service: upper.service as *mut c_void,
                });
            }
        }
    }

    /// The connect's `CONNECT_DATA` (its `Type3InputBuffer`), checked for size and alignment.
    fn connect_data(&self) -> Option<*mut ConnectData> {
        let mut buffer: *mut c_void = ptr::null_mut();
        let mut length: usize = 0;
        // SAFETY: the driver owns the live request; the out-pointers are locals.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfRequestRetrieveInputBuffer,
                self.raw(),
                size_of::<ConnectData>(),
                &mut buffer,
                &mut length
            )
        };
        let connect = buffer.cast::<ConnectData>();
        (NtStatus::from_raw(status).is_success()
            && !connect.is_null()
            && connect.is_aligned()
            && length >= size_of::<ConnectData>())
        .then_some(connect)
    }
}

/// The class driver's `ClassService`, as a routine (`None` for NULL).
fn service_routine(address: *mut c_void) -> Option<ServiceRoutine> {
    if address.is_null() {
        return None;
    }
    // The address came through memory another driver wrote (as bytes, on the host): take it
    // as the exposed address it is, so the pointer is one the abstract machine can call.
    let address = ptr::with_exposed_provenance_mut::<c_void>(address.addr());
    // SAFETY: a non-null `ClassService` is the class driver's service callback, which has
    // this type (kbdmou.h); the kernel's contract for the connect IOCTL.
    Some(unsafe { core::mem::transmute::<*mut c_void, ServiceRoutine>(address) })
}

/// Lets the simulated port drivers call the hook (they call only routines registered with
/// the simulation); nothing to do on Windows.
#[cfg(feature = "host")]
fn register(hooked: ServiceRoutine) {
    // SAFETY: `hooked` is a `service_callback`, which finds its device through
    // `WdfWdmDeviceGetWdfDeviceHandle` (NULL for an address that is no framework device's) and
    // reads the range and count only as the port's contract lets it.
    unsafe { kmdf_sim::keyboard::register_service_routine(hooked) };
}

#[cfg(not(feature = "host"))]
const fn register(_hooked: ServiceRoutine) {}

/// The hooked class service callback, called by the port driver at DISPATCH_LEVEL with the
/// filter's device object: the driver sees the keystrokes (and may change them), then the
/// class driver's callback gets them and says how many it consumed. With no connection (the
/// device is gone) the keystrokes are dropped and reported consumed, so the port does not
/// offer them again.
unsafe extern "C" fn service_callback<D: KeyboardHook>(
    device_object: *mut c_void,
    start: *mut c_void,
    end: *mut c_void,
    consumed: *mut c_void,
) {
    let keys = keys(start, end);
    let count = keys.as_ref().map_or(0, |keys| keys.len());
    let upper = guarded(None, || {
        let device = {
            // SAFETY: any address is accepted (the framework finds no device for a stranger's).
            unsafe {
                call_unsafe_wdf_function_binding!(
                    WdfWdmDeviceGetWdfDeviceHandle,
                    device_object.cast()
                )
            }
        };
        if device.is_null() {
            return None;
        }
        // The driver first: `driver_of_type::<D>()` is `None` unless this image's driver is a
        // `D`, so the record is read as `DeviceRecord<D>` only when it is one.
        let driver = driver_of_type::<D>()?;
        // The port driver calls this while the device it was connected to is there (it is
        // disconnected before the stack is removed). Entered for the call: the driver's code
        // may delete the device.
        // SAFETY: so the device's record lives; the device is this driver's (it hooked the
        // connect).
        let record = unsafe { record_of::<DeviceRecord<D>>(device.cast()).as_ref() }?.enter()?;
        let upper = record
            .head
            .contexts
            .find::<Connection>(&CONNECTION)
            // SAFETY: a context of the record, which the guard keeps.
            .and_then(|connection| *unsafe { connection.as_ref() }.0.lock())?;
        if let Some(keys) = keys {
            driver.keystrokes(DeviceHandle::of(&record), keys);
        }
        Some(upper)
    });
    match upper {
        // SAFETY: the class driver's callback, called as the port called this one, with the
        // same range (the keystrokes stay where the port put them).
        Some(upper) => unsafe { (upper.service)(upper.device, start, end, consumed) },
        None => {
            let consumed = consumed.cast::<u32>();
            if !consumed.is_null() && consumed.is_aligned() {
                // SAFETY: the port's ULONG (its contract).
                unsafe { consumed.write(u32::try_from(count).unwrap_or(u32::MAX)) };
            }
        }
    }
}

/// The port's range as a slice, when it is one (ordered, aligned, whole entries).
fn keys<'a>(start: *mut c_void, end: *mut c_void) -> Option<&'a mut [KeyboardInputData]> {
    let start = start.cast::<KeyboardInputData>();
    let end = end.cast::<KeyboardInputData>();
    if start.is_null() || !start.is_aligned() || end < start {
        return None;
    }
    let bytes = (end as usize) - (start as usize);
    let count = bytes / size_of::<KeyboardInputData>();
    // SAFETY: the port driver passes `[start, end)` of its own `KEYBOARD_INPUT_DATA` for the
    // call (the service callback contract), which `KeyboardInputData` lays out exactly; no one
    // else touches it until the callback returns.
    Some(unsafe { core::slice::from_raw_parts_mut(start, count) })
}
