//! A stand-in for KMDF's function table, enough to drive wdf-safe's real-KMDF seam through the
//! samples: objects with contexts and cleanup/destroy callbacks, control and FDO inits, queues
//! that present requests to their callbacks, requests with buffers, and an I/O target below a
//! filter that completes what it is sent.
//!
//! It follows KMDF's documented behaviour for the calls it implements, reduced to one thread;
//! where a driver breaks a rule KMDF's verifier checks, it records a violation, which the run
//! reports as a failure. It is a test double, not a framework: no power, no PnP state machine,
//! no cancellation from outside.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::ptr::{self, null_mut};

use wdk_sys::*;

const STATUS_SUCCESS: NTSTATUS = 0;
const STATUS_OBJECT_NAME_EXISTS: NTSTATUS = 0x4000_0000;
const STATUS_NO_MORE_ENTRIES: NTSTATUS = 0x8000_001A_u32 as i32;
const STATUS_INVALID_PARAMETER: NTSTATUS = 0xC000_000D_u32 as i32;
const STATUS_INVALID_DEVICE_REQUEST: NTSTATUS = 0xC000_0010_u32 as i32;
const STATUS_BUFFER_TOO_SMALL: NTSTATUS = 0xC000_0023_u32 as i32;
const STATUS_CANCELLED: NTSTATUS = 0xC000_0120_u32 as i32;
const STATUS_INVALID_DEVICE_STATE: NTSTATUS = 0xC000_0184_u32 as i32;
const STATUS_WDF_NO_CALLBACK: NTSTATUS = 0xC020_0209_u32 as i32;

/// Everything the stand-in framework knows, reached from its function table. One thread only.
pub struct World {
    pub table: [WDFFUNC; WDF_FUNCTION_COUNT],
    pub driver: *mut Obj,
    pub devices: Vec<*mut Obj>,
    pub trace: Vec<String>,
    pub violations: Vec<String>,
}

pub static mut WORLD: World = World {
    table: [None; WDF_FUNCTION_COUNT],
    driver: ptr::null_mut(),
    devices: Vec::new(),
    trace: Vec::new(),
    violations: Vec::new(),
};

/// The world.
#[allow(static_mut_refs)]
pub fn world() -> &'static mut World {
    // SAFETY: the program runs on one thread and never holds two of these across a call that
    // could make another (callbacks only reach the world through the table's functions).
    unsafe { &mut WORLD }
}

fn violation(what: String) {
    world().violations.push(what);
}

#[unsafe(no_mangle)]
pub static mut WdfFunctions_01033: *const WDFFUNC = ptr::null();
#[unsafe(no_mangle)]
pub static mut WdfDriverGlobals: PWDF_DRIVER_GLOBALS = ptr::null_mut();

/// A framework object: driver, device init, device, queue, request or I/O target.
#[derive(Default)]
pub struct Obj {
    pub kind: &'static str,
    pub contexts: Vec<(PCWDF_OBJECT_CONTEXT_TYPE_INFO, Vec<u128>)>,
    pub cleanup: PFN_WDF_OBJECT_CONTEXT_CLEANUP,
    pub destroy: PFN_WDF_OBJECT_CONTEXT_DESTROY,
    pub children: Vec<*mut Obj>,
    pub device_add: PFN_WDF_DRIVER_DEVICE_ADD,
    pub unload: PFN_WDF_DRIVER_UNLOAD,
    pub init_flags: ULONG,
    pub control: bool,
    pub filter: bool,
    pub name: Option<String>,
    pub link: Option<String>,
    pub file_close: PFN_WDF_FILE_CLOSE,
    pub ready: bool,
    pub dispatch: Vec<(WDF_REQUEST_TYPE, *mut Obj)>,
    pub default_queue: *mut Obj,
    pub target: *mut Obj,
    pub config: Option<WDF_IO_QUEUE_CONFIG>,
    pub device: *mut Obj,
    pub pending: VecDeque<*mut Obj>,
    pub rtype: WDF_REQUEST_TYPE,
    pub length: usize,
    pub code: ULONG,
    pub in_len: usize,
    pub out_len: usize,
    pub buffer: Vec<u8>,
    pub information: ULONG_PTR,
    pub status: NTSTATUS,
    pub completed: Option<(NTSTATUS, ULONG_PTR)>,
    pub queue: *mut Obj,
    pub cancel: PFN_WDF_REQUEST_CANCEL,
    pub formatted: bool,
    pub completion: PFN_WDF_REQUEST_COMPLETION_ROUTINE,
    pub sent: Option<&'static str>,
}

pub fn new_obj(kind: &'static str) -> *mut Obj {
    Box::into_raw(Box::new(Obj {
        kind,
        ..Obj::default()
    }))
}

/// The object behind a handle.
fn o<'a, T>(handle: *mut T) -> &'a mut Obj {
    // SAFETY: every handle the stand-in gives out is a leaked `Box<Obj>` that lives until the
    // program ends; one thread, and no two references to one object are used at once.
    unsafe { &mut *handle.cast::<Obj>() }
}

fn attach(obj: *mut Obj, attrs: PWDF_OBJECT_ATTRIBUTES) {
    if attrs.is_null() {
        return;
    }
    // SAFETY: the caller passes a live WDF_OBJECT_ATTRIBUTES for the call.
    let a = unsafe { &*attrs };
    if a.Size as usize != size_of::<WDF_OBJECT_ATTRIBUTES>() {
        violation(format!("WDF_OBJECT_ATTRIBUTES.Size is {}", a.Size));
    }
    if a.ExecutionLevel != _WDF_EXECUTION_LEVEL::WdfExecutionLevelInheritFromParent
        || a.SynchronizationScope
            != _WDF_SYNCHRONIZATION_SCOPE::WdfSynchronizationScopeInheritFromParent
    {
        violation(String::from(
            "attributes not initialised as WDF_OBJECT_ATTRIBUTES_INIT does",
        ));
    }
    o(obj).cleanup = a.EvtCleanupCallback;
    o(obj).destroy = a.EvtDestroyCallback;
    if !a.ContextTypeInfo.is_null() {
        add_context(obj, a.ContextTypeInfo);
    }
}

fn add_context(obj: *mut Obj, info: PCWDF_OBJECT_CONTEXT_TYPE_INFO) {
    // SAFETY: a context type info is a static the driver declared.
    let i = unsafe { &*info };
    if !ptr::eq(i.UniqueType, info) {
        violation(String::from(
            "a context type info whose UniqueType is not itself",
        ));
    }
    // Zeroed, 16-byte aligned (MEMORY_ALLOCATION_ALIGNMENT), as KMDF allocates it.
    o(obj)
        .contexts
        .push((info, vec![0u128; i.ContextSize.div_ceil(16).max(1)]));
}

fn unicode(s: PCUNICODE_STRING) -> String {
    // SAFETY: the caller passes a live UNICODE_STRING whose buffer holds `Length` bytes.
    let units = unsafe { core::slice::from_raw_parts((*s).Buffer, usize::from((*s).Length) / 2) };
    String::from_utf16_lossy(units)
}

unsafe extern "C" fn driver_create(
    _g: PWDF_DRIVER_GLOBALS,
    _object: PDRIVER_OBJECT,
    _path: PCUNICODE_STRING,
    attrs: PWDF_OBJECT_ATTRIBUTES,
    config: PWDF_DRIVER_CONFIG,
    out: *mut WDFDRIVER,
) -> NTSTATUS {
    // SAFETY: KMDF's contract: a live configuration.
    let c = unsafe { &*config };
    if c.EvtDriverUnload.is_none() {
        violation(String::from("EvtDriverUnload not set in WdfDriverCreate"));
    }
    let d = new_obj("driver");
    o(d).device_add = c.EvtDriverDeviceAdd;
    o(d).unload = c.EvtDriverUnload;
    o(d).init_flags = c.DriverInitFlags;
    attach(d, attrs);
    world().driver = d;
    // SAFETY: the out-pointer is live.
    unsafe { *out = d.cast() };
    STATUS_SUCCESS
}

unsafe extern "C" fn control_device_init_allocate(
    _g: PWDF_DRIVER_GLOBALS,
    _driver: WDFDRIVER,
    sddl: *const UNICODE_STRING,
) -> PWDFDEVICE_INIT {
    if !unicode(sddl).starts_with("D:P") {
        violation(String::from("control-device SDDL is not a protected DACL"));
    }
    let init = new_obj("init");
    o(init).control = true;
    init.cast()
}

unsafe extern "C" fn init_assign_name(
    _g: PWDF_DRIVER_GLOBALS,
    init: PWDFDEVICE_INIT,
    name: PCUNICODE_STRING,
) -> NTSTATUS {
    o(init).name = Some(unicode(name));
    STATUS_SUCCESS
}

unsafe extern "C" fn init_set_io_type(
    _g: PWDF_DRIVER_GLOBALS,
    _i: PWDFDEVICE_INIT,
    _t: WDF_DEVICE_IO_TYPE,
) {
}
unsafe extern "C" fn init_set_exclusive(_g: PWDF_DRIVER_GLOBALS, _i: PWDFDEVICE_INIT, _e: BOOLEAN) {
}
unsafe extern "C" fn init_set_characteristics(
    _g: PWDF_DRIVER_GLOBALS,
    _i: PWDFDEVICE_INIT,
    _c: ULONG,
    _or: BOOLEAN,
) {
}

unsafe extern "C" fn init_set_device_type(
    _g: PWDF_DRIVER_GLOBALS,
    init: PWDFDEVICE_INIT,
    _t: ULONG,
) {
    if o(init).control {
        violation(String::from(
            "WdfDeviceInitSetDeviceType on a control-device init (SDV ControlDeviceInitAPI)",
        ));
    }
}

unsafe extern "C" fn init_set_file_object_config(
    _g: PWDF_DRIVER_GLOBALS,
    init: PWDFDEVICE_INIT,
    config: PWDF_FILEOBJECT_CONFIG,
    _attrs: PWDF_OBJECT_ATTRIBUTES,
) {
    // SAFETY: a live configuration.
    o(init).file_close = unsafe { (*config).EvtFileClose };
}

unsafe extern "C" fn init_free(_g: PWDF_DRIVER_GLOBALS, init: PWDFDEVICE_INIT) {
    if !o(init).control {
        violation(String::from(
            "WdfDeviceInitFree on the framework's FDO init",
        ));
    }
}

unsafe extern "C" fn fdo_init_set_filter(_g: PWDF_DRIVER_GLOBALS, init: PWDFDEVICE_INIT) {
    o(init).filter = true;
}

unsafe extern "C" fn device_create(
    _g: PWDF_DRIVER_GLOBALS,
    init: *mut PWDFDEVICE_INIT,
    attrs: PWDF_OBJECT_ATTRIBUTES,
    out: *mut WDFDEVICE,
) -> NTSTATUS {
    // SAFETY: a live pointer to the caller's init handle.
    let i = o(unsafe { *init });
    let d = new_obj("device");
    o(d).control = i.control;
    o(d).filter = i.filter;
    o(d).name = i.name.clone();
    o(d).file_close = i.file_close;
    o(d).ready = !i.control;
    if !i.control {
        o(d).target = new_obj("iotarget");
    }
    attach(d, attrs);
    world().devices.push(d);
    // SAFETY: live out-pointers; the framework takes the init (sets it to NULL).
    unsafe {
        *init = null_mut();
        *out = d.cast();
    }
    STATUS_SUCCESS
}

unsafe extern "C" fn get_typed_context_worker(
    _g: PWDF_DRIVER_GLOBALS,
    handle: WDFOBJECT,
    info: PCWDF_OBJECT_CONTEXT_TYPE_INFO,
) -> PVOID {
    // SAFETY: a static type info.
    let unique = unsafe { (*info).UniqueType };
    for (i, memory) in &mut o(handle).contexts {
        // SAFETY: as above.
        if ptr::eq(unsafe { (**i).UniqueType }, unique) {
            return memory.as_mut_ptr().cast();
        }
    }
    null_mut()
}

unsafe extern "C" fn allocate_context(
    g: PWDF_DRIVER_GLOBALS,
    handle: WDFOBJECT,
    attrs: PWDF_OBJECT_ATTRIBUTES,
    out: *mut PVOID,
) -> NTSTATUS {
    // SAFETY: live attributes.
    let info = unsafe { (*attrs).ContextTypeInfo };
    // SAFETY: forwarding the caller's arguments.
    let existing = unsafe { get_typed_context_worker(g, handle, info) };
    if !existing.is_null() {
        // SAFETY: a live out-pointer.
        unsafe { *out = existing };
        return STATUS_OBJECT_NAME_EXISTS;
    }
    add_context(handle.cast(), info);
    // SAFETY: as above.
    unsafe { *out = get_typed_context_worker(g, handle, info) };
    STATUS_SUCCESS
}

unsafe extern "C" fn queue_create(
    _g: PWDF_DRIVER_GLOBALS,
    device: WDFDEVICE,
    config: PWDF_IO_QUEUE_CONFIG,
    attrs: PWDF_OBJECT_ATTRIBUTES,
    out: *mut WDFQUEUE,
) -> NTSTATUS {
    // SAFETY: a live configuration.
    let c = unsafe { *config };
    let manual = c.DispatchType == _WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchManual;
    let callbacks = c.EvtIoDefault.is_some()
        || c.EvtIoRead.is_some()
        || c.EvtIoWrite.is_some()
        || c.EvtIoDeviceControl.is_some()
        || c.EvtIoInternalDeviceControl.is_some();
    if manual && callbacks {
        return STATUS_INVALID_PARAMETER;
    }
    if !manual && !callbacks {
        return STATUS_WDF_NO_CALLBACK;
    }
    // SAFETY: reading the union member WDF_IO_QUEUE_CONFIG_INIT writes for parallel queues.
    let presented = unsafe { c.Settings.Parallel.NumberOfPresentedRequests };
    if c.DispatchType == _WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchParallel
        && presented != u32::MAX
    {
        violation(format!(
            "parallel queue limited to {presented} presented requests"
        ));
    }
    if c.DefaultQueue != 0 && !o(device).default_queue.is_null() {
        return 0xC000_0001_u32 as i32;
    }
    let q = new_obj("queue");
    o(q).config = Some(c);
    o(q).device = device.cast();
    attach(q, attrs);
    if c.DefaultQueue != 0 {
        o(device).default_queue = q;
    }
    o(device).children.push(q);
    // SAFETY: a live out-pointer.
    unsafe { *out = q.cast() };
    STATUS_SUCCESS
}

unsafe extern "C" fn configure_request_dispatching(
    _g: PWDF_DRIVER_GLOBALS,
    device: WDFDEVICE,
    queue: WDFQUEUE,
    request_type: WDF_REQUEST_TYPE,
) -> NTSTATUS {
    if !ptr::eq(o(queue).device, device.cast()) {
        return STATUS_INVALID_DEVICE_REQUEST;
    }
    o(device).dispatch.push((request_type, queue.cast()));
    STATUS_SUCCESS
}

unsafe extern "C" fn create_symbolic_link(
    _g: PWDF_DRIVER_GLOBALS,
    device: WDFDEVICE,
    link: PCUNICODE_STRING,
) -> NTSTATUS {
    if o(device).name.is_none() {
        return STATUS_INVALID_DEVICE_STATE;
    }
    o(device).link = Some(unicode(link));
    STATUS_SUCCESS
}

unsafe extern "C" fn create_device_interface(
    _g: PWDF_DRIVER_GLOBALS,
    device: WDFDEVICE,
    _guid: *const GUID,
    _reference: PCUNICODE_STRING,
) -> NTSTATUS {
    if o(device).control {
        STATUS_INVALID_DEVICE_REQUEST
    } else {
        STATUS_SUCCESS
    }
}

unsafe extern "C" fn control_finish_initializing(_g: PWDF_DRIVER_GLOBALS, device: WDFDEVICE) {
    o(device).ready = true;
}

unsafe extern "C" fn retrieve_next_request(
    _g: PWDF_DRIVER_GLOBALS,
    queue: WDFQUEUE,
    out: *mut WDFREQUEST,
) -> NTSTATUS {
    match o(queue).pending.pop_front() {
        Some(request) => {
            // SAFETY: a live out-pointer.
            unsafe { *out = request.cast() };
            STATUS_SUCCESS
        }
        None => STATUS_NO_MORE_ENTRIES,
    }
}

unsafe extern "C" fn queue_stop(
    _g: PWDF_DRIVER_GLOBALS,
    _q: WDFQUEUE,
    _f: PFN_WDF_IO_QUEUE_STATE,
    _c: WDFCONTEXT,
) {
}
unsafe extern "C" fn queue_start(_g: PWDF_DRIVER_GLOBALS, _q: WDFQUEUE) {}

unsafe extern "C" fn queue_purge_synchronously(_g: PWDF_DRIVER_GLOBALS, queue: WDFQUEUE) {
    while let Some(request) = o(queue).pending.pop_front() {
        o(request).completed = Some((STATUS_CANCELLED, 0));
    }
}

unsafe extern "C" fn queue_get_state(
    _g: PWDF_DRIVER_GLOBALS,
    queue: WDFQUEUE,
    queued: PULONG,
    driver_owned: PULONG,
) -> WDF_IO_QUEUE_STATE {
    // SAFETY: live (or null) out-pointers.
    unsafe {
        if !queued.is_null() {
            *queued = o(queue).pending.len() as ULONG;
        }
        if !driver_owned.is_null() {
            *driver_owned = 0;
        }
    }
    0
}

unsafe extern "C" fn queue_get_device(_g: PWDF_DRIVER_GLOBALS, queue: WDFQUEUE) -> WDFDEVICE {
    o(queue).device.cast()
}

unsafe extern "C" fn request_get_io_queue(
    _g: PWDF_DRIVER_GLOBALS,
    request: WDFREQUEST,
) -> WDFQUEUE {
    o(request).queue.cast()
}

unsafe extern "C" fn device_get_io_target(
    _g: PWDF_DRIVER_GLOBALS,
    device: WDFDEVICE,
) -> WDFIOTARGET {
    o(device).target.cast()
}

unsafe extern "C" fn request_get_parameters(
    _g: PWDF_DRIVER_GLOBALS,
    request: WDFREQUEST,
    parameters: PWDF_REQUEST_PARAMETERS,
) {
    // SAFETY: a live out-structure.
    let p = unsafe { &mut *parameters };
    if usize::from(p.Size) != size_of::<WDF_REQUEST_PARAMETERS>() {
        violation(String::from(
            "WDF_REQUEST_PARAMETERS not initialised with its size",
        ));
    }
    let r = o(request);
    p.Type = r.rtype;
    match r.rtype {
        _WDF_REQUEST_TYPE::WdfRequestTypeRead => p.Parameters.Read.Length = r.length,
        _WDF_REQUEST_TYPE::WdfRequestTypeWrite => p.Parameters.Write.Length = r.length,
        _ => {
            p.Parameters.DeviceIoControl.IoControlCode = r.code;
            p.Parameters.DeviceIoControl.InputBufferLength = r.in_len;
            p.Parameters.DeviceIoControl.OutputBufferLength = r.out_len;
        }
    }
}

unsafe extern "C" fn request_set_information(
    _g: PWDF_DRIVER_GLOBALS,
    request: WDFREQUEST,
    information: ULONG_PTR,
) {
    o(request).information = information;
}

unsafe extern "C" fn request_get_information(
    _g: PWDF_DRIVER_GLOBALS,
    request: WDFREQUEST,
) -> ULONG_PTR {
    o(request).information
}

unsafe extern "C" fn request_complete_with_information(
    _g: PWDF_DRIVER_GLOBALS,
    request: WDFREQUEST,
    status: NTSTATUS,
    information: ULONG_PTR,
) {
    let r = o(request);
    if r.completed.is_some() {
        violation(String::from(
            "a request completed twice (SDV DoubleCompletion)",
        ));
    }
    if r.cancel.is_some() {
        violation(String::from(
            "a request completed while cancelable (SDV ReqNotCanceledLocal)",
        ));
    }
    r.completed = Some((status, information));
}

unsafe extern "C" fn request_forward_to_io_queue(
    _g: PWDF_DRIVER_GLOBALS,
    request: WDFREQUEST,
    queue: WDFQUEUE,
) -> NTSTATUS {
    if ptr::eq(o(request).queue, queue.cast()) {
        return STATUS_INVALID_DEVICE_REQUEST;
    }
    o(request).queue = queue.cast();
    o(queue).pending.push_back(request.cast());
    STATUS_SUCCESS
}

unsafe extern "C" fn request_format_using_current_type(
    _g: PWDF_DRIVER_GLOBALS,
    request: WDFREQUEST,
) {
    o(request).formatted = true;
}

unsafe extern "C" fn request_set_completion_routine(
    _g: PWDF_DRIVER_GLOBALS,
    request: WDFREQUEST,
    routine: PFN_WDF_REQUEST_COMPLETION_ROUTINE,
    _context: WDFCONTEXT,
) {
    o(request).completion = routine;
}

/// The device below a filter: completes a read with an 8-byte keyboard report (key "A" down),
/// anything else with success and no data.
unsafe extern "C" fn request_send(
    _g: PWDF_DRIVER_GLOBALS,
    request: WDFREQUEST,
    target: WDFIOTARGET,
    options: PWDF_REQUEST_SEND_OPTIONS,
) -> BOOLEAN {
    if o(target).kind != "iotarget" {
        violation(String::from(
            "WdfRequestSend to something that is not an I/O target",
        ));
        return 0;
    }
    let forget_flag =
        _WDF_REQUEST_SEND_OPTIONS_FLAGS::WDF_REQUEST_SEND_OPTION_SEND_AND_FORGET as u32;
    // SAFETY: live (or null) options.
    let forget = !options.is_null() && unsafe { (*options).Flags } & forget_flag != 0;
    let r = o(request);
    let information = if r.rtype == _WDF_REQUEST_TYPE::WdfRequestTypeRead {
        let n = r.length.min(8);
        r.buffer[..n].copy_from_slice(&[0, 0, 0x04, 0, 0, 0, 0, 0][..n]);
        n
    } else {
        0
    };
    if forget {
        if r.formatted || r.completion.is_some() {
            violation(String::from("send-and-forget of a formatted request"));
        }
        r.sent = Some("forget");
        r.completed = Some((STATUS_SUCCESS, information as ULONG_PTR));
        return 1;
    }
    if !r.formatted {
        violation(String::from(
            "asynchronous send of a request that was not formatted",
        ));
    }
    let Some(routine) = r.completion else {
        violation(String::from(
            "asynchronous send without a completion routine",
        ));
        return 0;
    };
    r.sent = Some("observed");
    r.status = STATUS_SUCCESS;
    r.information = information as ULONG_PTR;
    // SAFETY: calling the driver's completion routine as KMDF would, with the request back.
    unsafe { routine(request, target, null_mut(), null_mut()) };
    1
}

unsafe extern "C" fn request_get_status(_g: PWDF_DRIVER_GLOBALS, request: WDFREQUEST) -> NTSTATUS {
    o(request).status
}

unsafe extern "C" fn request_is_canceled(_g: PWDF_DRIVER_GLOBALS, _r: WDFREQUEST) -> BOOLEAN {
    0
}

/// `WdfRequestRetrieve{Input,Output}Buffer`: one system buffer for buffered I/O; a zero-length
/// buffer fails with STATUS_BUFFER_TOO_SMALL even for a minimum of 0.
fn retrieve(
    request: WDFREQUEST,
    minimum: usize,
    buffer: *mut PVOID,
    length: *mut usize,
    input: bool,
) -> NTSTATUS {
    let r = o(request);
    let available = match r.rtype {
        _WDF_REQUEST_TYPE::WdfRequestTypeRead if !input => r.length,
        _WDF_REQUEST_TYPE::WdfRequestTypeWrite if input => r.length,
        _WDF_REQUEST_TYPE::WdfRequestTypeDeviceControl
        | _WDF_REQUEST_TYPE::WdfRequestTypeDeviceControlInternal => {
            if input {
                r.in_len
            } else {
                r.out_len
            }
        }
        _ => return STATUS_INVALID_DEVICE_REQUEST,
    };
    if available == 0 || available < minimum {
        return STATUS_BUFFER_TOO_SMALL;
    }
    // SAFETY: live out-pointers (the length one may be null).
    unsafe {
        *buffer = r.buffer.as_mut_ptr().cast();
        if !length.is_null() {
            *length = available;
        }
    }
    STATUS_SUCCESS
}

unsafe extern "C" fn retrieve_input_buffer(
    _g: PWDF_DRIVER_GLOBALS,
    r: WDFREQUEST,
    m: usize,
    b: *mut PVOID,
    l: *mut usize,
) -> NTSTATUS {
    retrieve(r, m, b, l, true)
}

unsafe extern "C" fn retrieve_output_buffer(
    _g: PWDF_DRIVER_GLOBALS,
    r: WDFREQUEST,
    m: usize,
    b: *mut PVOID,
    l: *mut usize,
) -> NTSTATUS {
    retrieve(r, m, b, l, false)
}

unsafe extern "C" fn mark_cancelable_ex(
    _g: PWDF_DRIVER_GLOBALS,
    request: WDFREQUEST,
    routine: PFN_WDF_REQUEST_CANCEL,
) -> NTSTATUS {
    o(request).cancel = routine;
    STATUS_SUCCESS
}

unsafe extern "C" fn unmark_cancelable(_g: PWDF_DRIVER_GLOBALS, request: WDFREQUEST) -> NTSTATUS {
    o(request).cancel = None;
    STATUS_SUCCESS
}

macro_rules! install {
    ($($index:ident: $pfn:ident = $f:ident),* $(,)?) => {$(
        let function: $pfn = Some($f);
        // SAFETY: a function pointer stored as the table's untyped entry; the seam's typed call
        // turns it back into `$pfn` by the same index.
        world().table[_WDFFUNCENUM::$index as usize] = unsafe { core::mem::transmute::<$pfn, WDFFUNC>(function) };
    )*};
}

/// Fills the function table and publishes it as `WdfFunctions_01033`.
pub fn install() {
    install! {
        WdfDriverCreateTableIndex: PFN_WDFDRIVERCREATE = driver_create,
        WdfControlDeviceInitAllocateTableIndex: PFN_WDFCONTROLDEVICEINITALLOCATE = control_device_init_allocate,
        WdfDeviceInitAssignNameTableIndex: PFN_WDFDEVICEINITASSIGNNAME = init_assign_name,
        WdfDeviceInitSetIoTypeTableIndex: PFN_WDFDEVICEINITSETIOTYPE = init_set_io_type,
        WdfDeviceInitSetExclusiveTableIndex: PFN_WDFDEVICEINITSETEXCLUSIVE = init_set_exclusive,
        WdfDeviceInitSetCharacteristicsTableIndex: PFN_WDFDEVICEINITSETCHARACTERISTICS = init_set_characteristics,
        WdfDeviceInitSetDeviceTypeTableIndex: PFN_WDFDEVICEINITSETDEVICETYPE = init_set_device_type,
        WdfDeviceInitSetFileObjectConfigTableIndex: PFN_WDFDEVICEINITSETFILEOBJECTCONFIG = init_set_file_object_config,
        WdfDeviceInitFreeTableIndex: PFN_WDFDEVICEINITFREE = init_free,
        WdfFdoInitSetFilterTableIndex: PFN_WDFFDOINITSETFILTER = fdo_init_set_filter,
        WdfDeviceCreateTableIndex: PFN_WDFDEVICECREATE = device_create,
        WdfObjectGetTypedContextWorkerTableIndex: PFN_WDFOBJECTGETTYPEDCONTEXTWORKER = get_typed_context_worker,
        WdfObjectAllocateContextTableIndex: PFN_WDFOBJECTALLOCATECONTEXT = allocate_context,
        WdfIoQueueCreateTableIndex: PFN_WDFIOQUEUECREATE = queue_create,
        WdfDeviceConfigureRequestDispatchingTableIndex: PFN_WDFDEVICECONFIGUREREQUESTDISPATCHING = configure_request_dispatching,
        WdfDeviceCreateSymbolicLinkTableIndex: PFN_WDFDEVICECREATESYMBOLICLINK = create_symbolic_link,
        WdfDeviceCreateDeviceInterfaceTableIndex: PFN_WDFDEVICECREATEDEVICEINTERFACE = create_device_interface,
        WdfControlFinishInitializingTableIndex: PFN_WDFCONTROLFINISHINITIALIZING = control_finish_initializing,
        WdfIoQueueRetrieveNextRequestTableIndex: PFN_WDFIOQUEUERETRIEVENEXTREQUEST = retrieve_next_request,
        WdfIoQueueStopTableIndex: PFN_WDFIOQUEUESTOP = queue_stop,
        WdfIoQueueStartTableIndex: PFN_WDFIOQUEUESTART = queue_start,
        WdfIoQueuePurgeSynchronouslyTableIndex: PFN_WDFIOQUEUEPURGESYNCHRONOUSLY = queue_purge_synchronously,
        WdfIoQueueGetStateTableIndex: PFN_WDFIOQUEUEGETSTATE = queue_get_state,
        WdfIoQueueGetDeviceTableIndex: PFN_WDFIOQUEUEGETDEVICE = queue_get_device,
        WdfRequestGetIoQueueTableIndex: PFN_WDFREQUESTGETIOQUEUE = request_get_io_queue,
        WdfDeviceGetIoTargetTableIndex: PFN_WDFDEVICEGETIOTARGET = device_get_io_target,
        WdfRequestGetParametersTableIndex: PFN_WDFREQUESTGETPARAMETERS = request_get_parameters,
        WdfRequestSetInformationTableIndex: PFN_WDFREQUESTSETINFORMATION = request_set_information,
        WdfRequestGetInformationTableIndex: PFN_WDFREQUESTGETINFORMATION = request_get_information,
        WdfRequestCompleteWithInformationTableIndex: PFN_WDFREQUESTCOMPLETEWITHINFORMATION = request_complete_with_information,
        WdfRequestForwardToIoQueueTableIndex: PFN_WDFREQUESTFORWARDTOIOQUEUE = request_forward_to_io_queue,
        WdfRequestFormatRequestUsingCurrentTypeTableIndex: PFN_WDFREQUESTFORMATREQUESTUSINGCURRENTTYPE = request_format_using_current_type,
        WdfRequestSetCompletionRoutineTableIndex: PFN_WDFREQUESTSETCOMPLETIONROUTINE = request_set_completion_routine,
        WdfRequestSendTableIndex: PFN_WDFREQUESTSEND = request_send,
        WdfRequestGetStatusTableIndex: PFN_WDFREQUESTGETSTATUS = request_get_status,
        WdfRequestIsCanceledTableIndex: PFN_WDFREQUESTISCANCELED = request_is_canceled,
        WdfRequestRetrieveInputBufferTableIndex: PFN_WDFREQUESTRETRIEVEINPUTBUFFER = retrieve_input_buffer,
        WdfRequestRetrieveOutputBufferTableIndex: PFN_WDFREQUESTRETRIEVEOUTPUTBUFFER = retrieve_output_buffer,
        WdfRequestMarkCancelableExTableIndex: PFN_WDFREQUESTMARKCANCELABLEEX = mark_cancelable_ex,
        WdfRequestUnmarkCancelableTableIndex: PFN_WDFREQUESTUNMARKCANCELABLE = unmark_cancelable,
    }
    // SAFETY: one thread; the table lives as long as the program.
    unsafe { WdfFunctions_01033 = world().table.as_ptr() };
}

// ---- what the I/O manager and PnP would do -------------------------------------------------

/// How a request ended.
pub struct Outcome {
    pub status: u32,
    pub information: usize,
    pub data: Vec<u8>,
    /// How it went below a filter: "observed", "forget" or "framework".
    pub sent: Option<&'static str>,
    /// The request, for one still pending.
    pub request: *mut Obj,
}

/// Sends one request to `device` as KMDF's I/O package would route it: the queue dispatching its
/// type, else the default queue (never for creates); zero-length reads and writes completed by
/// the framework unless the queue allows them; the queue's callback for the type, else
/// EvtIoDefault, else passed down (filters) or failed.
pub fn send(
    device: *mut Obj,
    rtype: WDF_REQUEST_TYPE,
    code: ULONG,
    input: &[u8],
    out_len: usize,
) -> Outcome {
    let d = o(device);
    if !d.ready {
        violation(String::from("I/O reached a device that is not ready"));
    }
    let request = new_obj("request");
    let r = o(request);
    r.rtype = rtype;
    r.code = code;
    match rtype {
        _WDF_REQUEST_TYPE::WdfRequestTypeWrite => {
            r.length = input.len();
            r.buffer = input.to_vec();
        }
        _WDF_REQUEST_TYPE::WdfRequestTypeRead => {
            r.length = out_len;
            r.buffer = vec![0xCC; out_len];
        }
        _ => {
            r.in_len = input.len();
            r.out_len = out_len;
            r.buffer = vec![0xCC; input.len().max(out_len)];
            r.buffer[..input.len()].copy_from_slice(input);
        }
    }
    let dedicated = d
        .dispatch
        .iter()
        .find(|(t, _)| *t == rtype)
        .map(|(_, q)| *q);
    let queue = dedicated.or_else(|| {
        (rtype != _WDF_REQUEST_TYPE::WdfRequestTypeCreate && !d.default_queue.is_null())
            .then_some(d.default_queue)
    });
    match queue {
        None if rtype == _WDF_REQUEST_TYPE::WdfRequestTypeCreate => {
            r.completed = Some((STATUS_SUCCESS, 0))
        }
        None => r.completed = Some((STATUS_INVALID_DEVICE_REQUEST, 0)),
        Some(queue) => present(d.filter, queue, request, input.len(), out_len),
    }
    let r = o(request);
    let (status, information) = r.completed.unwrap_or((0x103, 0));
    let data = if rtype == _WDF_REQUEST_TYPE::WdfRequestTypeWrite {
        Vec::new()
    } else {
        r.buffer[..(information as usize).min(r.buffer.len())].to_vec()
    };
    Outcome {
        status: status as u32,
        information: information as usize,
        data,
        sent: r.sent,
        request,
    }
}

/// How a request that was pending has ended since, if it has.
pub fn outcome_of(request: *mut Obj) -> Option<(u32, usize, Vec<u8>)> {
    let r = o(request);
    r.completed.map(|(status, information)| {
        let data = r.buffer[..(information as usize).min(r.buffer.len())].to_vec();
        (status as u32, information as usize, data)
    })
}

/// The sender cancels a pending request (`CancelIoEx`): a cancelable one goes to its cancel
/// routine, with the cancelable state cleared first, as KMDF does; `false` if it was not
/// cancelable.
pub fn cancel(request: *mut Obj) -> bool {
    let Some(routine) = o(request).cancel.take() else {
        return false;
    };
    // SAFETY: calling the driver's cancel routine as KMDF would.
    unsafe { routine(request.cast()) };
    true
}

fn present(filter: bool, queue: *mut Obj, request: *mut Obj, in_len: usize, out_len: usize) {
    let Some(c) = o(queue).config else {
        return;
    };
    let r = o(request);
    r.queue = queue;
    let zero = matches!(
        r.rtype,
        _WDF_REQUEST_TYPE::WdfRequestTypeRead | _WDF_REQUEST_TYPE::WdfRequestTypeWrite
    ) && r.length == 0;
    if zero && c.AllowZeroLengthRequests == 0 {
        r.completed = Some((STATUS_SUCCESS, 0));
        return;
    }
    if c.DispatchType == _WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchManual {
        o(queue).pending.push_back(request);
        return;
    }
    let (q, rq) = (queue.cast(), request.cast());
    let (rtype, length, code) = (r.rtype, r.length, r.code);
    // SAFETY: presenting the request to the driver's callbacks, as KMDF does.
    unsafe {
        match rtype {
            _WDF_REQUEST_TYPE::WdfRequestTypeRead if c.EvtIoRead.is_some() => {
                c.EvtIoRead.map(|f| f(q, rq, length));
            }
            _WDF_REQUEST_TYPE::WdfRequestTypeWrite if c.EvtIoWrite.is_some() => {
                c.EvtIoWrite.map(|f| f(q, rq, length));
            }
            _WDF_REQUEST_TYPE::WdfRequestTypeDeviceControl if c.EvtIoDeviceControl.is_some() => {
                c.EvtIoDeviceControl
                    .map(|f| f(q, rq, out_len, in_len, code));
            }
            _WDF_REQUEST_TYPE::WdfRequestTypeDeviceControlInternal
                if c.EvtIoInternalDeviceControl.is_some() =>
            {
                c.EvtIoInternalDeviceControl
                    .map(|f| f(q, rq, out_len, in_len, code));
            }
            _ if c.EvtIoDefault.is_some() => {
                c.EvtIoDefault.map(|f| f(q, rq));
            }
            _ if filter => {
                o(request).sent = Some("framework");
                o(request).completed = Some((STATUS_SUCCESS, 0));
            }
            _ => o(request).completed = Some((STATUS_INVALID_DEVICE_REQUEST, 0)),
        }
    }
    let forwarded = !ptr::eq(o(request).queue, queue);
    if o(request).completed.is_none() && o(request).cancel.is_none() && !forwarded {
        violation(format!(
            "a request of type {rtype} left neither completed, forwarded nor cancelable"
        ));
    }
}

/// The last handle to the device is closed (EvtFileClose).
pub fn close(device: *mut Obj) {
    if let Some(close) = o(device).file_close {
        // SAFETY: calling the driver's callback as KMDF would.
        unsafe { close(null_mut()) };
    }
}

/// Deletes a device: the queues' cleanup, then the device's, then the destroy callbacks.
pub fn delete(device: *mut Obj) {
    let children = o(device).children.clone();
    let cleanups = children
        .iter()
        .chain([&device])
        .map(|&object| (object, o(object).cleanup));
    for (object, cleanup) in cleanups.collect::<Vec<_>>() {
        if let Some(cleanup) = cleanup {
            // SAFETY: calling the driver's cleanup callback as KMDF would, with its object.
            unsafe { cleanup(object.cast()) };
        }
    }
    let destroys = children
        .iter()
        .chain([&device])
        .map(|&object| (object, o(object).destroy));
    for (object, destroy) in destroys.collect::<Vec<_>>() {
        if let Some(destroy) = destroy {
            // SAFETY: as above, for the destroy callback.
            unsafe { destroy(object.cast()) };
        }
    }
    world().devices.retain(|&d| !ptr::eq(d, device));
}

/// Unloads the driver: EvtDriverUnload, then the remaining devices, then the driver object.
pub fn unload() {
    let driver = world().driver;
    if let Some(unload) = o(driver).unload {
        // SAFETY: as in `delete`.
        unsafe { unload(driver.cast()) };
    }
    for device in world().devices.clone() {
        delete(device);
    }
    if let Some(cleanup) = o(driver).cleanup {
        // SAFETY: as in `delete`.
        unsafe { cleanup(driver.cast()) };
    }
    if let Some(destroy) = o(driver).destroy {
        // SAFETY: as in `delete`.
        unsafe { destroy(driver.cast()) };
    }
}

/// Lets the driver add a device for a new PnP device node (EvtDriverDeviceAdd).
pub fn add_device() -> NTSTATUS {
    let driver = world().driver;
    let init = new_obj("init");
    match o(driver).device_add {
        // SAFETY: calling the driver's callback as KMDF would.
        Some(add) => unsafe { add(driver.cast(), init.cast()) },
        None => STATUS_INVALID_DEVICE_REQUEST,
    }
}

// ---- the kernel routines the seams link against --------------------------------------------

#[unsafe(no_mangle)]
extern "C" fn KeAcquireSpinLockRaiseToDpc(lock: PKSPIN_LOCK) -> KIRQL {
    // SAFETY: the seam passes its lock word.
    unsafe {
        if *lock != 0 {
            violation(String::from("a spin lock acquired while held"));
        }
        *lock = 1;
    }
    0
}

#[unsafe(no_mangle)]
extern "C" fn KeReleaseSpinLock(lock: PKSPIN_LOCK, _irql: KIRQL) {
    // SAFETY: as above.
    unsafe {
        if *lock != 1 {
            violation(String::from("a spin lock released while free"));
        }
        *lock = 0;
    }
}

/// `DbgPrint("%s", line)`: the only form the seam uses (the second argument arrives where the
/// first variadic one would on x64).
#[unsafe(no_mangle)]
extern "C" fn DbgPrint(format: *const i8, text: *const i8) -> ULONG {
    // SAFETY: NUL-terminated strings from the seam.
    let (format, text) = unsafe {
        (
            core::ffi::CStr::from_ptr(format),
            core::ffi::CStr::from_ptr(text),
        )
    };
    if format.to_bytes() != b"%s" {
        violation(String::from("DbgPrint with a format other than %s"));
    }
    let line = String::from(String::from_utf8_lossy(text.to_bytes()).trim_end());
    client_support::println!("    [kd] {line}");
    world().trace.push(line);
    0
}

#[unsafe(no_mangle)]
extern "C" fn KeBugCheckEx(
    code: ULONG,
    _a: ULONG_PTR,
    _b: ULONG_PTR,
    _c: ULONG_PTR,
    _d: ULONG_PTR,
) -> ! {
    client_support::println!("bug check {code:#x}");
    client_support::exit(code)
}

/// The WDM routines `wdm-compat`'s seam links against; a KMDF driver never calls them.
macro_rules! never {
    ($($name:ident),*) => {$(
        #[unsafe(no_mangle)]
        extern "C" fn $name() -> ! {
            client_support::println!(concat!(stringify!($name), " called from a KMDF driver"));
            client_support::exit(3)
        }
    )*};
}

never!(
    IofCallDriver,
    IoCreateDevice,
    IoDeleteDevice,
    IoDetachDevice,
    IofCompleteRequest,
    IoCreateSymbolicLink,
    IoDeleteSymbolicLink,
    IoAttachDeviceToDeviceStack,
    IoReleaseCancelSpinLock,
    MmMapLockedPagesSpecifyCache
);
