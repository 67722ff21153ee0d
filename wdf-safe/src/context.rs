//! Typed object contexts (`WDF_DECLARE_CONTEXT_TYPE`, `WdfObjectAllocateContext`,
//! `WdfObjectGetTypedContext`).
//!
//! KMDF finds a context by the address of its type-info structure, not by name or size (facts:
//! "Context lookup compares the type-info pointer"), so every context type needs exactly one
//! `static` type info. [`declare_context_type!`](crate::declare_context_type) makes it and
//! implements [`ContextType`]; [`Device::allocate_context`](crate::Device::allocate_context)
//! and [`Queue::allocate_context`](crate::Queue::allocate_context) initialise the context in
//! place, once, and [`Device::context`](crate::Device::context) and
//! [`Queue::context`](crate::Queue::context) find it again. An I/O callback reaches the
//! contexts of the device and the queue of its request with
//! [`Request::device_context`](crate::Request::device_context) and
//! [`Request::queue_context`](crate::Request::queue_context). A context's cleanup callback runs
//! when its object is deleted, after the object's children.
//!
//! A context is found as a [`ContextRef`], which keeps it: the context lives with its object's
//! record, which goes when the object is destroyed and the last `ContextRef` to it is dropped
//! (so a filter's contexts go with each device it leaves, not at unload). Its cleanup
//! callback, when the object is deleted, is where it lets go of what it holds; its `Drop` runs
//! when the record goes, at the IRQL of whoever lets go last (the destroy callback, or a
//! `ContextRef` dropped later).

use core::any::Any;
use core::fmt;
use core::ops::Deref;
use core::pin::Pin;

pub use crate::sys::ContextTypeInfo;

/// A typed context of a device, queue, timer or work item, found with `context::<T>()` or made
/// with `allocate_context`: it derefs to the `T`, and keeps it (and its object's record) while
/// it lives, however long that is. A context never moves: [`as_pin`](Self::as_pin) gives it
/// pinned, for a `!Unpin` context whose fields rely on their address (projected with
/// [`pin_project!`](crate::pin_project)).
pub struct ContextRef<T>(Pin<crate::sys::ContextGuard<T>>);

impl<T> ContextRef<T> {
    pub(crate) fn new(guard: crate::sys::ContextGuard<T>) -> Self {
        Self(guard.pinned())
    }

    /// The context, pinned: it was initialised where it stays and is dropped in place.
    ///
    /// IRQL: any.
    #[must_use]
    pub fn as_pin(&self) -> Pin<&T> {
        self.0.as_ref()
    }
}

impl<T> Deref for ContextRef<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: fmt::Debug> fmt::Debug for ContextRef<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A type usable as an object context; implement it with
/// [`declare_context_type!`](crate::declare_context_type).
///
/// A context's `Drop` runs where its object's record is freed: in the object's destroy
/// callback (PASSIVE_LEVEL for a device), or where the last [`ContextRef`] to it is dropped,
/// which may be at DISPATCH_LEVEL or under a queue's callback lock. Keep it to what is allowed
/// there (no waits, no paged memory).
pub trait ContextType: Any + Send + Sync {
    /// The type's one type info; its address identifies the type.
    fn type_info() -> &'static ContextTypeInfo;
}

/// `WDF_DECLARE_CONTEXT_TYPE`: makes `$ty` a [`ContextType`] with its own `static` type info.
///
/// ```
/// struct DeviceData { opens: core::sync::atomic::AtomicU32 }
/// wdf_safe::declare_context_type!(DeviceData);
/// ```
#[macro_export]
macro_rules! declare_context_type {
    ($ty:ty) => {
        impl $crate::context::ContextType for $ty {
            fn type_info() -> &'static $crate::context::ContextTypeInfo {
                static INFO: $crate::context::ContextTypeInfo = $crate::context::ContextTypeInfo {
                    name: ::core::stringify!($ty),
                };
                &INFO
            }
        }
    };
}
