//! Request contexts (`WdfDeviceInitSetRequestAttributes`): every request of a device carries a
//! slot of KMDF context memory for one `T`, zeroed by the framework when it makes the request.
//! The crate initialises the slot in place (`T::default()`) the first time it sees the request
//! (presented, retrieved, or given to `EvtDeviceFileCreate`), and drops the value in the
//! request's `EvtCleanupCallback` (when it is completed). The memory is the framework's and
//! never moves while the request lives.

use core::any::{Any, TypeId};
use core::ffi::c_void;
use core::mem::MaybeUninit;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, Ordering};

use super::wdk_sys::{self, WDF_OBJECT_CONTEXT_TYPE_INFO, WDFOBJECT, WDFREQUEST};
use super::{TypeInfo, attributes, context_of, guarded};
use crate::sys::ContextTypeInfo;

/// The context type of the request slots; its size is set per device
/// (`ContextSizeOverride`).
static REQUEST_CONTEXT: TypeInfo = TypeInfo(WDF_OBJECT_CONTEXT_TYPE_INFO {
    Size: size_of::<WDF_OBJECT_CONTEXT_TYPE_INFO>() as u32,
    ContextName: c"WdfSafeRequestContext".as_ptr(),
    ContextSize: size_of::<*const c_void>(),
    UniqueType: &raw const REQUEST_CONTEXT.0,
    EvtDriverGetUniqueContextType: None,
});

/// A request's slot: the type info of the value once it is initialised (null before: the
/// framework zeroes context memory), the value's `TypeId` (checked before the value is read as
/// a `T`: a safe `ContextType` impl could share another type's info), then the value.
#[repr(C)]
struct Slot<T> {
    header: Header,
    value: MaybeUninit<T>,
}

/// The start of every slot, whatever its `T`: read before the slot is taken for a `Slot<T>`.
#[repr(C)]
struct Header {
    info: AtomicPtr<ContextTypeInfo>,
    type_id: MaybeUninit<TypeId>,
}

/// A device's request context type: what the seam needs to size, initialise and drop it.
#[derive(Clone, Copy)]
pub(crate) struct RequestContextSpec {
    size: usize,
    init: unsafe fn(NonNull<c_void>, &'static ContextTypeInfo),
    info: &'static ContextTypeInfo,
    cleanup: unsafe extern "C" fn(WDFOBJECT),
}

impl RequestContextSpec {
    /// The spec of `T`, whose type info is `info`. A `T` aligned above 16 bytes (KMDF's
    /// context alignment) does not compile.
    pub(crate) fn of<T: Any + Default + Send + Sync>(info: &'static ContextTypeInfo) -> Self {
        const {
            assert!(
                align_of::<Slot<T>>() <= 16,
                "KMDF aligns context memory to 16 bytes"
            );
        }
        Self {
            size: size_of::<Slot<T>>(),
            init: init_slot::<T>,
            info,
            cleanup: cleanup_slot::<T>,
        }
    }

    /// The request attributes for `WdfDeviceInitSetRequestAttributes`.
    pub(super) fn attributes(&self) -> wdk_sys::WDF_OBJECT_ATTRIBUTES {
        let mut attributes = attributes(&REQUEST_CONTEXT, Some(self.cleanup), None);
        attributes.ContextSizeOverride = self.size;
        attributes
    }
}

/// Writes `T::default()` into a zeroed slot and marks it initialised.
///
/// # Safety
///
/// `slot` is the request's `REQUEST_CONTEXT` memory, sized and aligned for a `Slot<T>`
/// (registered with this `T`'s spec), not yet initialised, and touched by nobody else now.
unsafe fn init_slot<T: Any + Default>(slot: NonNull<c_void>, info: &'static ContextTypeInfo) {
    // SAFETY: the caller's contract: the memory is a `Slot<T>` the framework zeroed (a null
    // `info`, an uninitialised value), owned by the request, which this thread holds; nothing
    // else refers to it, so a unique reference to it may be made.
    let slot = unsafe { slot.cast::<Slot<T>>().as_mut() };
    slot.value.write(T::default());
    slot.header.type_id.write(TypeId::of::<T>());
    // Publishes the value to later readers of the slot.
    slot.header
        .info
        .store(ptr::from_ref(info).cast_mut(), Ordering::Release);
}

/// The request's `EvtCleanupCallback`: drops the value, if it was initialised.
unsafe extern "C" fn cleanup_slot<T>(object: WDFOBJECT) {
    guarded((), || {
        let slot = context_of(object, &REQUEST_CONTEXT).cast::<Slot<T>>();
        // SAFETY: the request's slot (or null), registered for this `T`; the request is
        // completed, so no reference to the value remains (they borrow the request, which
        // completion consumed): a unique reference may be made.
        let Some(slot) = (unsafe { slot.as_mut() }) else {
            return;
        };
        if !slot
            .header
            .info
            .swap(ptr::null_mut(), Ordering::AcqRel)
            .is_null()
        {
            // SAFETY: initialised (its info was set), dropped once (the info is cleared).
            unsafe { slot.value.assume_init_drop() };
        }
    });
}

/// Initialises `request`'s context, if its device has one and it is not initialised yet: the
/// crate's first sight of a request (presented, retrieved, or a file create).
pub(super) fn init_request_context(request: WDFREQUEST, spec: Option<RequestContextSpec>) {
    let Some(spec) = spec else {
        return;
    };
    let Some(slot) = NonNull::new(context_of(request.cast(), &REQUEST_CONTEXT)) else {
        return;
    };
    // SAFETY: every slot starts with a `Header` (`repr(C)`), 16-byte aligned context memory of
    // at least its size; shared access only.
    let header = unsafe { slot.cast::<Header>().as_ref() };
    if header.info.load(Ordering::Acquire).is_null() {
        // SAFETY: the slot of a request of a device registered with `spec` (sized for its
        // `T`), not initialised, and the driver's request is on this thread only.
        unsafe { (spec.init)(slot, spec.info) };
    }
}

/// The context of `request` if it is a `T` (type info `info`), initialised.
pub(super) fn request_context<'a, T: Any>(
    request: WDFREQUEST,
    info: &'static ContextTypeInfo,
) -> Option<&'a T> {
    let slot = NonNull::new(context_of(request.cast(), &REQUEST_CONTEXT))?;
    // SAFETY: every slot starts with a `Header` (`repr(C)`), 16-byte aligned context memory of
    // at least its size; shared access only. The slot is taken for a `Slot<T>` (which may be
    // larger) only once its type is known to be `T`.
    let header: &'a Header = unsafe { slot.cast::<Header>().as_ref() };
    if !ptr::eq(header.info.load(Ordering::Acquire).cast_const(), info) {
        return None;
    }
    // SAFETY: initialised (its info is set, after the type id and the value were written).
    if unsafe { header.type_id.assume_init() } != TypeId::of::<T>() {
        return None;
    }
    // SAFETY: the slot holds a `Slot<T>` for this very `T` (its `TypeId`), initialised;
    // shared references only until completion drops the value, after every borrow of the
    // request ended.
    let slot: &'a Slot<T> = unsafe { slot.cast::<Slot<T>>().as_ref() };
    // SAFETY: initialised with a value of this `T`; the caller bounds `'a` by its borrow of
    // the request, whose completion (which drops the value) consumes it.
    Some(unsafe { slot.value.assume_init_ref() })
}
