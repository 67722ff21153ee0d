//! I/O targets (shared/targets/general/fxiotargetapi.cpp): synchronous sends
//! (`FxIoTargetSendIoctl`: the framework formats its own request, sends it to the device below
//! and waits), and formatting a driver's request for an IOCTL with memory objects
//! (`FxIoTargetFormatIoctl`).

use std::vec::Vec;

use wdm_compat::NtStatus;

use super::{DISPATCH, PASSIVE, enter, handle, read, sized, write};
use crate::ffi::bindings::{
    _WDF_MEMORY_DESCRIPTOR_TYPE as Descriptor, _WDF_REQUEST_SEND_OPTIONS_FLAGS as SendFlags,
    NTSTATUS, PULONG_PTR, PWDF_DRIVER_GLOBALS, PWDF_MEMORY_DESCRIPTOR, PWDF_REQUEST_SEND_OPTIONS,
    PWDFMEMORY_OFFSET, ULONG, WDF_REQUEST_SEND_OPTIONS, WDFIOTARGET, WDFMEMORY, WDFMEMORY_OFFSET,
    WDFREQUEST,
};
use crate::framework::objects::Kind;
use crate::framework::{Cx, created, lookaside};

/// What a descriptor describes: an address and a length (`FxRequestBuffer::
/// ValidateMemoryDescriptor`, shared/support/fxrequestbuffer.cpp); `Ok(None)` for a NULL
/// descriptor. A buffer descriptor gives them itself; a handle descriptor names a memory
/// object and the part of its buffer to use (`WDFMEMORY_OFFSET`). MDL descriptors are not
/// modelled (no driver of this workspace builds one).
fn buffer(
    cx: &Cx,
    ddi: &str,
    descriptor: PWDF_MEMORY_DESCRIPTOR,
) -> Result<Option<(*mut u8, usize)>, NtStatus> {
    if descriptor.is_null() {
        return Ok(None);
    }
    let Some(descriptor) = read(cx, ddi, "MemoryDescriptor", descriptor.cast_const()) else {
        return Err(NtStatus::INVALID_PARAMETER);
    };
    match descriptor.Type {
        Descriptor::WdfMemoryDescriptorTypeBuffer => {
            // SAFETY: a descriptor of the buffer type has its `BufferType` member set.
            let buffer = unsafe { descriptor.u.BufferType };
            if buffer.Buffer.is_null() {
                // A NULL buffer is refused, with a length or without
                // (`MemoryDescriptorNoBufferAllowed` is not among this DDI's flags).
                return Err(NtStatus::INVALID_PARAMETER);
            }
            Ok(Some((buffer.Buffer.cast(), buffer.Length as usize)))
        }
        Descriptor::WdfMemoryDescriptorTypeHandle => {
            // SAFETY: a descriptor of the handle type has its `HandleType` member set.
            let described = unsafe { descriptor.u.HandleType };
            if described.Memory.is_null() {
                return Err(NtStatus::INVALID_PARAMETER);
            }
            // An invalid handle is a bug check in KMDF (`FxObjectHandleGetPtr`).
            let memory =
                handle(cx, ddi, described.Memory, Kind::Memory).ok_or(NtStatus::INVALID_HANDLE)?;
            let (address, size) = lookaside::buffer(cx, memory).ok_or(NtStatus::INVALID_HANDLE)?;
            let offsets = if described.Offsets.is_null() {
                None
            } else {
                Some(
                    read(cx, ddi, "Offsets", described.Offsets.cast_const())
                        .ok_or(NtStatus::INVALID_PARAMETER)?,
                )
            };
            let (offset, length) = transfer(size, offsets)?;
            Ok(Some((address.wrapping_add(offset), length)))
        }
        _ => {
            cx.verifier_break(
                None,
                &std::format!(
                    "{ddi}: only buffer and memory-object descriptors are modelled by the \
                     simulated framework"
                ),
            );
            Err(NtStatus::NOT_SUPPORTED)
        }
    }
}

/// The part of a `size`-byte memory object a transfer uses: `IFxMemory::ValidateMemoryOffsets`
/// (an offset and length past the buffer, or overflowing, is `STATUS_INTEGER_OVERFLOW`), then
/// `FxRequestBuffer::GetBufferLength` and `GetBuffer`: no offsets, or both zero, is the whole
/// buffer; a zero length is the rest of the buffer from the offset.
pub(crate) fn transfer(
    size: usize,
    offsets: Option<WDFMEMORY_OFFSET>,
) -> Result<(usize, usize), NtStatus> {
    let Some(offsets) = offsets else {
        return Ok((0, size));
    };
    let end = offsets
        .BufferOffset
        .checked_add(offsets.BufferLength)
        .ok_or(NtStatus::INTEGER_OVERFLOW)?;
    if end > size {
        return Err(NtStatus::INTEGER_OVERFLOW);
    }
    let length = if offsets.BufferLength == 0 {
        size - offsets.BufferOffset
    } else {
        offsets.BufferLength
    };
    Ok((offsets.BufferOffset, length))
}

/// `WdfIoTargetSendIoctlSynchronously` / `WdfIoTargetSendInternalIoctlSynchronously` with a
/// NULL request (the framework allocates one).
#[allow(clippy::too_many_arguments, reason = "the DDI's own parameters")]
fn send_ioctl_synchronously(
    globals: PWDF_DRIVER_GLOBALS,
    ddi: &str,
    internal: bool,
    raw_target: WDFIOTARGET,
    request: WDFREQUEST,
    code: ULONG,
    input: PWDF_MEMORY_DESCRIPTOR,
    output: PWDF_MEMORY_DESCRIPTOR,
    options: PWDF_REQUEST_SEND_OPTIONS,
    bytes_returned: PULONG_PTR,
) -> NTSTATUS {
    let Some(cx) = enter(globals, ddi) else {
        return NtStatus::INVALID_DEVICE_STATE.to_raw();
    };
    write(bytes_returned, 0);
    let Some(target) = handle(&cx, ddi, raw_target, Kind::IoTarget) else {
        return NtStatus::INVALID_HANDLE.to_raw();
    };
    // A synchronous send waits: PASSIVE_LEVEL only (SDV WdfRequestSendSyncAtDispatch).
    if !cx.check_irql(ddi, PASSIVE) {
        return NtStatus::INVALID_DEVICE_REQUEST.to_raw();
    }
    if !request.is_null() {
        cx.verifier_break(
            None,
            &std::format!(
                "{ddi}: a driver-supplied request is not modelled by the simulated framework \
                 (pass NULL: the framework makes its own)"
            ),
        );
        return NtStatus::NOT_SUPPORTED.to_raw();
    }
    if !options.is_null()
        && let Some(options) = read(&cx, ddi, "RequestOptions", options.cast_const())
    {
        if sized(
            &cx,
            ddi,
            "WDF_REQUEST_SEND_OPTIONS",
            options.Size as usize,
            size_of::<WDF_REQUEST_SEND_OPTIONS>(),
        )
        .is_err()
        {
            return NtStatus::INVALID_PARAMETER.to_raw();
        }
        if options.Flags & SendFlags::WDF_REQUEST_SEND_OPTION_TIMEOUT as u32 != 0
            && options.Timeout == 0
        {
            // KMDF reads a zero timeout as none (`SubmitSync` waits for ever); SDV asks for a
            // non-zero one, and so does the simulation.
            cx.verifier_break(
                Some("SyncReqSend"),
                &std::format!(
                    "{ddi}: WDF_REQUEST_SEND_OPTION_TIMEOUT with a zero timeout, which KMDF reads \
                     as no timeout: a lower driver that never answers hangs the thread"
                ),
            );
        }
    }
    let (input, output) = match (buffer(&cx, ddi, input), buffer(&cx, ddi, output)) {
        (Ok(input), Ok(output)) => (input, output),
        (Err(status), _) | (_, Err(status)) => return status.to_raw(),
    };
    let input: Vec<u8> = input.map_or_else(Vec::new, |(address, length)| {
        // SAFETY: the driver's input buffer of `length` bytes, valid for the call.
        unsafe { core::slice::from_raw_parts(address, length) }.to_vec()
    });
    let output_length = output.map_or(0, |(_, length)| length);
    let lower = cx
        .lock()
        .objects
        .get(target)
        .and_then(|o| o.target())
        .map(|t| t.lower);
    let Some(lower) = lower else {
        return NtStatus::INVALID_DEVICE_STATE.to_raw();
    };
    let result = cx
        .kernel
        .send_ioctl(lower, internal, code, &input, output_length);
    if result.status == NtStatus::PENDING.status() {
        // Still pending below after the simulation's wait: KMDF would cancel it when the
        // timeout expires and return STATUS_IO_TIMEOUT (`FxIoTarget::SubmitSync`), never
        // STATUS_PENDING.
        return NtStatus::IO_TIMEOUT.to_raw();
    }
    if let Some((address, length)) = output {
        let count = result.data.len().min(length);
        if count > 0 {
            // SAFETY: the driver's output buffer of `length` bytes, valid for the call; the
            // copy stays within it and within the data that came back.
            unsafe { core::ptr::copy_nonoverlapping(result.data.as_ptr(), address, count) };
        }
    }
    write(bytes_returned, result.information as u64);
    result.status.to_raw()
}

pub(crate) unsafe extern "C" fn WdfIoTargetSendIoctlSynchronously(
    globals: PWDF_DRIVER_GLOBALS,
    target: WDFIOTARGET,
    request: WDFREQUEST,
    code: ULONG,
    input: PWDF_MEMORY_DESCRIPTOR,
    output: PWDF_MEMORY_DESCRIPTOR,
    options: PWDF_REQUEST_SEND_OPTIONS,
    bytes_returned: PULONG_PTR,
) -> NTSTATUS {
    send_ioctl_synchronously(
        globals,
        "WdfIoTargetSendIoctlSynchronously",
        false,
        target,
        request,
        code,
        input,
        output,
        options,
        bytes_returned,
    )
}

pub(crate) unsafe extern "C" fn WdfIoTargetSendInternalIoctlSynchronously(
    globals: PWDF_DRIVER_GLOBALS,
    target: WDFIOTARGET,
    request: WDFREQUEST,
    code: ULONG,
    input: PWDF_MEMORY_DESCRIPTOR,
    output: PWDF_MEMORY_DESCRIPTOR,
    options: PWDF_REQUEST_SEND_OPTIONS,
    bytes_returned: PULONG_PTR,
) -> NTSTATUS {
    send_ioctl_synchronously(
        globals,
        "WdfIoTargetSendInternalIoctlSynchronously",
        true,
        target,
        request,
        code,
        input,
        output,
        options,
        bytes_returned,
    )
}

/// A memory offset the simulation models: none (the whole buffer).
fn whole_buffer(cx: &Cx, ddi: &str, offset: PWDFMEMORY_OFFSET) -> bool {
    if offset.is_null() {
        return true;
    }
    cx.verifier_break(
        None,
        &std::format!(
            "{ddi}: memory offsets are not modelled by the simulated framework (pass NULL: \
             the whole buffer)"
        ),
    );
    false
}

/// `WdfIoTargetFormatRequestForIoctl` / `…ForInternalIoctl` (`FxIoTargetFormatIoctl`).
#[allow(clippy::too_many_arguments, reason = "the DDI's own parameters")]
fn format_for_ioctl(
    globals: PWDF_DRIVER_GLOBALS,
    ddi: &str,
    internal: bool,
    raw_target: WDFIOTARGET,
    raw_request: WDFREQUEST,
    code: ULONG,
    raw_input: WDFMEMORY,
    input_offset: PWDFMEMORY_OFFSET,
    raw_output: WDFMEMORY,
    output_offset: PWDFMEMORY_OFFSET,
) -> NTSTATUS {
    let Some(cx) = enter(globals, ddi) else {
        return NtStatus::INVALID_DEVICE_STATE.to_raw();
    };
    let (Some(target), Some(request)) = (
        handle(&cx, ddi, raw_target, Kind::IoTarget),
        handle(&cx, ddi, raw_request, Kind::Request),
    ) else {
        return NtStatus::INVALID_HANDLE.to_raw();
    };
    if !cx.check_irql(ddi, DISPATCH) {
        return NtStatus::INVALID_DEVICE_REQUEST.to_raw();
    }
    if !whole_buffer(&cx, ddi, input_offset) || !whole_buffer(&cx, ddi, output_offset) {
        return NtStatus::NOT_SUPPORTED.to_raw();
    }
    let memory = |raw: WDFMEMORY| {
        if raw.is_null() {
            Ok(None)
        } else {
            handle(&cx, ddi, raw, Kind::Memory)
                .map(Some)
                .ok_or(NtStatus::INVALID_HANDLE)
        }
    };
    let (input, output) = match (memory(raw_input), memory(raw_output)) {
        (Ok(input), Ok(output)) => (input, output),
        (Err(status), _) | (_, Err(status)) => return status.to_raw(),
    };
    created::format_for_ioctl(&cx, target, request, internal, code, input, output).to_raw()
}

pub(crate) unsafe extern "C" fn WdfIoTargetFormatRequestForIoctl(
    globals: PWDF_DRIVER_GLOBALS,
    target: WDFIOTARGET,
    request: WDFREQUEST,
    code: ULONG,
    input: WDFMEMORY,
    input_offset: PWDFMEMORY_OFFSET,
    output: WDFMEMORY,
    output_offset: PWDFMEMORY_OFFSET,
) -> NTSTATUS {
    format_for_ioctl(
        globals,
        "WdfIoTargetFormatRequestForIoctl",
        false,
        target,
        request,
        code,
        input,
        input_offset,
        output,
        output_offset,
    )
}

pub(crate) unsafe extern "C" fn WdfIoTargetFormatRequestForInternalIoctl(
    globals: PWDF_DRIVER_GLOBALS,
    target: WDFIOTARGET,
    request: WDFREQUEST,
    code: ULONG,
    input: WDFMEMORY,
    input_offset: PWDFMEMORY_OFFSET,
    output: WDFMEMORY,
    output_offset: PWDFMEMORY_OFFSET,
) -> NTSTATUS {
    format_for_ioctl(
        globals,
        "WdfIoTargetFormatRequestForInternalIoctl",
        true,
        target,
        request,
        code,
        input,
        input_offset,
        output,
        output_offset,
    )
}

#[cfg(test)]
mod tests {
    use super::{WDFMEMORY_OFFSET, transfer};
    use wdm_compat::NtStatus;

    fn offsets(offset: usize, length: usize) -> Option<WDFMEMORY_OFFSET> {
        Some(WDFMEMORY_OFFSET {
            BufferOffset: offset,
            BufferLength: length,
        })
    }

    /// `ValidateMemoryOffsets`, `GetBufferLength` and `GetBuffer` on a 16-byte memory object.
    #[test]
    fn a_memory_offset_selects_the_part_kmdf_transfers() {
        assert_eq!(transfer(16, None), Ok((0, 16)));
        assert_eq!(transfer(16, offsets(0, 0)), Ok((0, 16)));
        assert_eq!(transfer(16, offsets(4, 8)), Ok((4, 8)));
        assert_eq!(transfer(16, offsets(0, 16)), Ok((0, 16)));
        // A zero length is the rest of the buffer from the offset.
        assert_eq!(transfer(16, offsets(10, 0)), Ok((10, 6)));
        assert_eq!(transfer(16, offsets(16, 0)), Ok((16, 0)));
        // Past the end, or overflowing.
        assert_eq!(
            transfer(16, offsets(12, 5)),
            Err(NtStatus::INTEGER_OVERFLOW)
        );
        assert_eq!(
            transfer(16, offsets(17, 0)),
            Err(NtStatus::INTEGER_OVERFLOW)
        );
        assert_eq!(
            transfer(16, offsets(usize::MAX, 2)),
            Err(NtStatus::INTEGER_OVERFLOW)
        );
    }
}
