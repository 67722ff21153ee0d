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
//! A context lives until the driver unloads (it is kept with the device's record, so a
//! `&'static` to it never dangles while driver code runs); its cleanup callback, when the
//! device is deleted, is where it lets go of what it holds.

use core::any::Any;

pub use crate::sys::ContextTypeInfo;

/// A type usable as an object context; implement it with
/// [`declare_context_type!`](crate::declare_context_type).
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
