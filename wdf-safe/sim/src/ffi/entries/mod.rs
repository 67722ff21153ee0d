//! The entries of the function table: each reads its raw arguments as KMDF's DDI does —
//! `FxPointerNotNull` on required pointers, `FxObjectHandleGetPtr` on handles, the structure's
//! `Size`, the IRQL — reports what the verifier would, and calls the framework's safe half.
//!
//! A pointer argument a driver passes is trusted to point where the DDI's contract says (a
//! KMDF DDI cannot check that either): NULL is caught, garbage is not.
#![allow(
    non_snake_case,
    reason = "each entry is named after the DDI it implements"
)]

mod device;
mod driver;
mod io_target;
mod lookaside;
mod object;
mod queue;
mod registry;
mod request;
mod timer;
mod wait_lock;
mod work_item;

pub(crate) use device::*;
pub(crate) use driver::*;
pub(crate) use io_target::*;
pub(crate) use lookaside::*;
pub(crate) use object::*;
pub(crate) use queue::*;
pub(crate) use registry::*;
pub(crate) use request::*;
pub(crate) use timer::*;
pub(crate) use wait_lock::*;
pub(crate) use work_item::*;

use core::cell::Cell;
use core::sync::atomic::Ordering;
use std::format;
use std::rc::Rc;
use std::string::String;

use wdm_compat::NtStatus;

use super::bindings::{
    _WDF_EXECUTION_LEVEL as Level, _WDF_SYNCHRONIZATION_SCOPE as Scope, PCUNICODE_STRING,
    PWDF_DRIVER_GLOBALS, PWDF_OBJECT_ATTRIBUTES, WDF_OBJECT_ATTRIBUTES,
    WDF_OBJECT_CONTEXT_TYPE_INFO,
};
use crate::framework::lifecycle::Attributes;
use crate::framework::objects::{Handle, Kind};
use crate::framework::{self, Cx};

/// `PASSIVE_LEVEL`.
const PASSIVE: u8 = 0;
/// `APC_LEVEL`.
const APC: u8 = 1;
/// `DISPATCH_LEVEL`.
const DISPATCH: u8 = 2;

/// The context of a DDI call: the image whose code is running. The globals passed must be
/// that image's; a DDI called outside any callback of the framework has no image, and fails
/// (said on stderr, as there is no simulation to report to).
fn enter(globals: PWDF_DRIVER_GLOBALS, ddi: &str) -> Option<Rc<Cx>> {
    let Some(cx) = framework::current() else {
        std::eprintln!(
            "[kmdf-sim] {ddi} called outside any framework callback: no driver image is running \
             on this thread, so the call fails"
        );
        return None;
    };
    cx.fx().ddi_calls.fetch_add(1, Ordering::Relaxed);
    if globals != cx.image.globals() {
        cx.bug_check(
            None,
            [0x3, globals.addr(), 0, 0],
            &format!("{ddi}: DriverGlobals is not the calling driver's (WDF_VERIFIER_FATAL_ERROR)"),
        );
    }
    Some(cx)
}

std::thread_local! {
    /// The last handle this thread found live, of which kind, in which framework, and the
    /// framework's removal count then. A driver's callback usually makes several calls on one
    /// request; while nothing was removed since, the handle is still live and the lock is not
    /// taken again. Any removal (the counter moved) sends the next check back to the table.
    static LAST_LIVE: Cell<Option<(usize, Handle, Kind, u64)>> = const { Cell::new(None) };
}

/// The handle `raw` names, when it is a live object of `kind`; a `WDF_INVALID_HANDLE` bug check
/// otherwise (`FxObjectHandleGetPtr`).
fn handle<T>(cx: &Cx, ddi: &str, raw: *mut T, kind: Kind) -> Option<Handle> {
    let value = raw.addr();
    let framework = cx.fx().id;
    let removals = cx.fx().removals.load(Ordering::Acquire);
    let found = Handle::from_raw(value).filter(|h| {
        if LAST_LIVE.get() == Some((framework, *h, kind, removals)) {
            return true;
        }
        let live = cx
            .lock()
            .objects
            .get(*h)
            .is_some_and(|o| o.body.kind() == kind);
        if live {
            LAST_LIVE.set(Some((framework, *h, kind, removals)));
        }
        live
    });
    if found.is_none() {
        cx.invalid_handle(ddi, value, kind);
    }
    found
}

/// A live object of any kind (`FX_TYPE_OBJECT`).
fn object<T>(cx: &Cx, ddi: &str, raw: *mut T) -> Option<Handle> {
    let value = raw.addr();
    let found = Handle::from_raw(value).filter(|h| cx.lock().objects.get(*h).is_some());
    if found.is_none() {
        cx.bug_check(
            None,
            [crate::framework::verifier::INVALID_HANDLE, value, 0x1000, 0],
            &format!("{ddi}: {value:#x} is not a live framework object (WDF_INVALID_HANDLE)"),
        );
    }
    found
}

/// `FxPointerNotNull`: `false` (and a bug check) for a NULL required pointer.
fn not_null<T>(cx: &Cx, ddi: &str, name: &str, pointer: *const T) -> bool {
    if pointer.is_null() {
        cx.null_parameter(ddi, name);
        false
    } else {
        true
    }
}

/// Reads a structure the driver passed; `None` (and a bug check) when the pointer is NULL.
fn read<T: Copy>(cx: &Cx, ddi: &str, name: &str, pointer: *const T) -> Option<T> {
    if !not_null(cx, ddi, name, pointer) {
        return None;
    }
    // SAFETY: not NULL (checked); the DDI's contract makes it point to a `T` for the call.
    Some(unsafe { pointer.read_unaligned() })
}

/// Writes a DDI's out-parameter, when the driver passed one.
fn write<T>(pointer: *mut T, value: T) {
    if !pointer.is_null() {
        // SAFETY: the DDI's contract makes a non-NULL out-parameter point to a writable `T`.
        unsafe { pointer.write_unaligned(value) };
    }
}

/// A structure's `Size` must be the KMDF 1.33 size.
fn sized(
    cx: &Cx,
    ddi: &str,
    structure: &str,
    size: usize,
    expected: usize,
) -> Result<(), NtStatus> {
    if size == expected {
        Ok(())
    } else {
        cx.size_mismatch(ddi, structure, size, expected);
        Err(NtStatus::INFO_LENGTH_MISMATCH)
    }
}

/// What creating a timer or work item checks first (`FxValidateObjectAttributesForParentHandle`
/// with `FX_VALIDATE_OPTION_PARENT_REQUIRED`, then the configuration's `Size`): the out-pointer
/// (`out_name`, cleared), the IRQL (≤ DISPATCH_LEVEL), the attributes and their live parent,
/// and the configuration `C` (`name`), whose `Size` `size_of_config` reads. The status to fail
/// with otherwise.
#[allow(
    clippy::too_many_arguments,
    reason = "the DDI's arguments and their names"
)]
fn parented_create<C: Copy, T>(
    cx: &Cx,
    ddi: &str,
    out: *mut *mut T,
    out_name: &str,
    object_attributes: PWDF_OBJECT_ATTRIBUTES,
    config: *const C,
    name: &str,
    size_of_config: impl Fn(&C) -> u32,
) -> Result<(Attributes, Handle, C), NtStatus> {
    if !not_null(cx, ddi, out_name, out) {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    write(out, core::ptr::null_mut());
    if !cx.check_irql(ddi, DISPATCH) {
        return Err(NtStatus::INVALID_DEVICE_REQUEST);
    }
    let attributes =
        attributes(cx, ddi, object_attributes)?.ok_or(NtStatus::WDF_PARENT_NOT_SPECIFIED)?;
    let parent = attributes
        .parent
        .ok_or(NtStatus::WDF_PARENT_NOT_SPECIFIED)?;
    let parent = object(cx, ddi, core::ptr::without_provenance_mut::<u8>(parent))
        .ok_or(NtStatus::INVALID_HANDLE)?;
    let config: C = read(cx, ddi, "Config", config).ok_or(NtStatus::INVALID_PARAMETER)?;
    sized(
        cx,
        ddi,
        name,
        size_of_config(&config) as usize,
        size_of::<C>(),
    )?;
    Ok((attributes, parent, config))
}

/// `FxValidateObjectAttributes`: `None` for `WDF_NO_OBJECT_ATTRIBUTES`.
fn attributes(
    cx: &Cx,
    ddi: &str,
    pointer: PWDF_OBJECT_ATTRIBUTES,
) -> Result<Option<Attributes>, NtStatus> {
    if pointer.is_null() {
        return Ok(None);
    }
    // SAFETY: not NULL; the DDI's contract makes it a WDF_OBJECT_ATTRIBUTES for the call.
    let raw = unsafe { pointer.read_unaligned() };
    sized(
        cx,
        ddi,
        "WDF_OBJECT_ATTRIBUTES",
        raw.Size as usize,
        size_of::<WDF_OBJECT_ATTRIBUTES>(),
    )?;
    if !(Level::WdfExecutionLevelInheritFromParent..=Level::WdfExecutionLevelDispatch)
        .contains(&raw.ExecutionLevel)
        || !(Scope::WdfSynchronizationScopeInheritFromParent..=Scope::WdfSynchronizationScopeNone)
            .contains(&raw.SynchronizationScope)
    {
        cx.verifier_break(
            None,
            &format!(
                "{ddi}: the attributes' execution level or synchronization scope is not one of \
                 its enum's values (WDF_OBJECT_ATTRIBUTES_INIT sets them)"
            ),
        );
        return Err(NtStatus::WDF_OBJECT_ATTRIBUTES_INVALID);
    }
    let context = if raw.ContextTypeInfo.is_null() {
        None
    } else {
        // SAFETY: a non-NULL ContextTypeInfo points to the driver's static type info.
        let info = unsafe { raw.ContextTypeInfo.read_unaligned() };
        sized(
            cx,
            ddi,
            "WDF_OBJECT_CONTEXT_TYPE_INFO",
            info.Size as usize,
            size_of::<WDF_OBJECT_CONTEXT_TYPE_INFO>(),
        )?;
        if info.ContextSize > 0 && info.ContextName.is_null() {
            return Err(NtStatus::WDF_OBJECT_ATTRIBUTES_INVALID);
        }
        if raw.ContextSizeOverride != 0 && raw.ContextSizeOverride < info.ContextSize {
            return Err(NtStatus::WDF_OBJECT_ATTRIBUTES_INVALID);
        }
        let size = if raw.ContextSizeOverride != 0 {
            raw.ContextSizeOverride
        } else {
            info.ContextSize
        };
        Some((raw.ContextTypeInfo.addr(), size))
    };
    Ok(Some(Attributes {
        cleanup: raw.EvtCleanupCallback,
        destroy: raw.EvtDestroyCallback,
        parent: (!raw.ParentObject.is_null()).then(|| raw.ParentObject.addr()),
        scope: raw.SynchronizationScope,
        context,
    }))
}

/// `FxValidateUnicodeString` and a copy of the string (`None` for a NULL pointer).
fn unicode(cx: &Cx, ddi: &str, pointer: PCUNICODE_STRING) -> Result<Option<String>, NtStatus> {
    if pointer.is_null() {
        return Ok(None);
    }
    // SAFETY: not NULL; the DDI's contract makes it a UNICODE_STRING for the call.
    let raw = unsafe { pointer.read_unaligned() };
    if raw.Length % 2 != 0
        || raw.MaximumLength % 2 != 0
        || raw.Length > raw.MaximumLength
        || (raw.MaximumLength > 0 && raw.Buffer.is_null())
    {
        cx.verifier_break(None, &format!("{ddi}: an invalid UNICODE_STRING"));
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if raw.Length == 0 {
        return Ok(Some(String::new()));
    }
    // SAFETY: a valid UNICODE_STRING's Buffer holds Length bytes of UTF-16 for the call.
    let units = unsafe { core::slice::from_raw_parts(raw.Buffer, usize::from(raw.Length / 2)) };
    Ok(Some(String::from_utf16_lossy(units)))
}

/// The parent an attributes structure names, if any (`None` inside: none named).
pub(super) fn parent_of(
    cx: &Cx,
    ddi: &str,
    attributes: Option<&Attributes>,
) -> Result<Option<Handle>, NtStatus> {
    match attributes.and_then(|a| a.parent) {
        Some(raw) => object(cx, ddi, core::ptr::without_provenance_mut::<u8>(raw))
            .map(Some)
            .ok_or(NtStatus::INVALID_HANDLE),
        None => Ok(None),
    }
}
