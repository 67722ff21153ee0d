//! `WdfLookasideListCreate`, `WdfMemoryCreateFromLookaside`, `WdfMemoryCreate`,
//! `WdfMemoryGetBuffer` (shared/core/fxlookasidelistapi.cpp, fxmemorybufferapi.cpp).

use wdm_compat::NtStatus;

use super::{APC, DISPATCH, PASSIVE, attributes, enter, handle, not_null, parent_of, write};
use crate::ffi::bindings::{
    _POOL_TYPE as Pool, NTSTATUS, POOL_TYPE, PVOID, PWDF_DRIVER_GLOBALS, PWDF_OBJECT_ATTRIBUTES,
    ULONG, WDFLOOKASIDE, WDFMEMORY,
};
use crate::framework::lookaside;
use crate::framework::objects::Kind;

/// `FxIsPagedPoolType`: paged pool (the cold-allocation bit aside).
const fn paged(pool: POOL_TYPE) -> bool {
    let base = pool & !0x8;
    base == Pool::PagedPool || base == 5 // PagedPoolCacheAligned
}

pub(crate) unsafe extern "C" fn WdfLookasideListCreate(
    globals: PWDF_DRIVER_GLOBALS,
    lookaside_attributes: PWDF_OBJECT_ATTRIBUTES,
    buffer_size: usize,
    pool_type: POOL_TYPE,
    memory_attributes: PWDF_OBJECT_ATTRIBUTES,
    pool_tag: ULONG,
    out_lookaside: *mut WDFLOOKASIDE,
) -> NTSTATUS {
    const DDI: &str = "WdfLookasideListCreate";
    let Some(cx) = enter(globals, DDI) else {
        return NtStatus::INVALID_DEVICE_STATE.to_raw();
    };
    if !not_null(&cx, DDI, "Lookaside", out_lookaside) {
        return NtStatus::INVALID_PARAMETER.to_raw();
    }
    write(out_lookaside, core::ptr::null_mut());
    // Paged lists need PASSIVE_LEVEL (checked with the verifier on), non-paged DISPATCH.
    if !cx.check_irql(DDI, if paged(pool_type) { PASSIVE } else { DISPATCH }) {
        return NtStatus::INVALID_DEVICE_REQUEST.to_raw();
    }
    if buffer_size == 0 {
        return NtStatus::INVALID_PARAMETER.to_raw();
    }
    let (list, memory) = match (
        attributes(&cx, DDI, lookaside_attributes),
        attributes(&cx, DDI, memory_attributes),
    ) {
        (Ok(list), Ok(memory)) => (list, memory),
        (Err(status), _) | (_, Err(status)) => return status.to_raw(),
    };
    let (parent, memory_parent) = match (
        parent_of(&cx, DDI, list.as_ref()),
        parent_of(&cx, DDI, memory.as_ref()),
    ) {
        (Ok(parent), Ok(memory_parent)) => (parent, memory_parent),
        (Err(status), _) | (_, Err(status)) => return status.to_raw(),
    };
    match lookaside::create(
        &cx,
        parent,
        list.as_ref(),
        buffer_size,
        pool_tag,
        paged(pool_type),
        memory,
        memory_parent,
    ) {
        Ok(created) => {
            write(
                out_lookaside,
                core::ptr::without_provenance_mut(created.raw()),
            );
            NtStatus::SUCCESS.to_raw()
        }
        Err(status) => status.to_raw(),
    }
}

pub(crate) unsafe extern "C" fn WdfMemoryCreateFromLookaside(
    globals: PWDF_DRIVER_GLOBALS,
    raw_lookaside: WDFLOOKASIDE,
    out_memory: *mut WDFMEMORY,
) -> NTSTATUS {
    const DDI: &str = "WdfMemoryCreateFromLookaside";
    let Some(cx) = enter(globals, DDI) else {
        return NtStatus::INVALID_DEVICE_STATE.to_raw();
    };
    let Some(list) = handle(&cx, DDI, raw_lookaside, Kind::Lookaside) else {
        return NtStatus::INVALID_HANDLE.to_raw();
    };
    if !not_null(&cx, DDI, "Memory", out_memory) {
        return NtStatus::INVALID_PARAMETER.to_raw();
    }
    write(out_memory, core::ptr::null_mut());
    // A paged list's block comes from `ExAllocateFromPagedLookasideList`: ≤ APC_LEVEL (KMDF
    // does not check it; the kernel faults above it).
    let paged = cx
        .lock()
        .objects
        .get(list)
        .and_then(|o| o.lookaside())
        .is_some_and(|l| l.paged);
    if !cx.check_irql(DDI, if paged { APC } else { DISPATCH }) {
        return NtStatus::INVALID_DEVICE_REQUEST.to_raw();
    }
    match lookaside::allocate(&cx, list) {
        Ok(memory) => {
            write(out_memory, core::ptr::without_provenance_mut(memory.raw()));
            NtStatus::SUCCESS.to_raw()
        }
        Err(status) => status.to_raw(),
    }
}

pub(crate) unsafe extern "C" fn WdfMemoryCreate(
    globals: PWDF_DRIVER_GLOBALS,
    raw_attributes: PWDF_OBJECT_ATTRIBUTES,
    pool_type: POOL_TYPE,
    pool_tag: ULONG,
    buffer_size: usize,
    out_memory: *mut WDFMEMORY,
    out_buffer: *mut PVOID,
) -> NTSTATUS {
    const DDI: &str = "WdfMemoryCreate";
    let Some(cx) = enter(globals, DDI) else {
        return NtStatus::INVALID_DEVICE_STATE.to_raw();
    };
    if !not_null(&cx, DDI, "Memory", out_memory) {
        return NtStatus::INVALID_PARAMETER.to_raw();
    }
    // Paged memory needs ≤ APC_LEVEL, non-paged ≤ DISPATCH_LEVEL.
    if !cx.check_irql(DDI, if paged(pool_type) { APC } else { DISPATCH }) {
        return NtStatus::INVALID_DEVICE_REQUEST.to_raw();
    }
    if buffer_size == 0 {
        return NtStatus::INVALID_PARAMETER.to_raw();
    }
    write(out_memory, core::ptr::null_mut());
    if !out_buffer.is_null() {
        write(out_buffer, core::ptr::null_mut());
    }
    let attributes = match attributes(&cx, DDI, raw_attributes) {
        Ok(attributes) => attributes,
        Err(status) => return status.to_raw(),
    };
    let parent = match parent_of(&cx, DDI, attributes.as_ref()) {
        Ok(parent) => parent,
        Err(status) => return status.to_raw(),
    };
    match lookaside::create_memory(&cx, parent, attributes.as_ref(), buffer_size, pool_tag) {
        Ok(memory) => {
            write(out_memory, core::ptr::without_provenance_mut(memory.raw()));
            if !out_buffer.is_null()
                && let Some((address, _)) = lookaside::buffer(&cx, memory)
            {
                write(out_buffer, address.cast());
            }
            NtStatus::SUCCESS.to_raw()
        }
        Err(status) => status.to_raw(),
    }
}

pub(crate) unsafe extern "C" fn WdfMemoryGetBuffer(
    globals: PWDF_DRIVER_GLOBALS,
    raw_memory: WDFMEMORY,
    buffer_size: *mut usize,
) -> PVOID {
    const DDI: &str = "WdfMemoryGetBuffer";
    let Some(cx) = enter(globals, DDI) else {
        return core::ptr::null_mut();
    };
    let Some(memory) = handle(&cx, DDI, raw_memory, Kind::Memory) else {
        return core::ptr::null_mut();
    };
    if !cx.check_irql(DDI, DISPATCH) {
        return core::ptr::null_mut();
    }
    let Some((address, size)) = lookaside::buffer(&cx, memory) else {
        return core::ptr::null_mut();
    };
    if !buffer_size.is_null() {
        write(buffer_size, size);
    }
    address.cast()
}
