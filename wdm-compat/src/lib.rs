//! # wdm-compat
//!
//! The WDM I/O vocabulary and the IRP model of `wdf-safe`, usable without the WDK:
//!
//! * [`status`]: [`NtStatus`], severities, names, `Result` helpers.
//! * [`ioctl`]: `CTL_CODE` as [`IoControlCode`], typed IOCTLs and [`define_ioctl!`](crate::define_ioctl),
//!   matched and decoded on the dispatch side too ([`IoRequest::ioctl`], [`ioctl::Bounded`]
//!   for variable-length data).
//! * [`irp`]: [`Irp<C>`](Irp), completed exactly once, with the completer `C` chosen at compile
//!   time; [`NoopCompleter`], `TrackingCompleter` (feature `tracking`).
//! * [`dispatch`]: the values a dispatch routine can return, each of which only a legal way of
//!   finishing the IRP can produce (complete, pend, forward).
//! * [`request`]: [`IoRequest`], typed and bounds-checked access to the current stack location
//!   and its buffers.
//! * [`device`] and [`driver`]: [`Device`], device and symbolic-link guards that undo themselves,
//!   and the [`WdmDriver`] trait whose defaults fill the whole major-function table.
//! * [`csq`]: [`CancelSafeQueue`](csq::CancelSafeQueue), pending IRPs that `CancelIo` can take
//!   back without a race (IoCsq).
//! * [`memory`]: allocations that fail with a value back instead of a bug check.
//! * [`pool`]: tagged, paged or non-paged pool blocks ([`PoolBox`](pool::PoolBox)).
//! * [`thread_rules`]: why IRPs and lock guards stay on their thread, named for the compiler.
//! * `host` (feature `host`): a simulated NT I/O manager with a user-mode side and a verifier,
//!   so driver logic runs in ordinary `cargo test` on any OS.
//!
//! All `unsafe` code lives in one private module, the seam to the operating system; every other
//! module is safe code (`#![deny(unsafe_code)]`). The safety contract is in `SAFETY.md` at the
//! repository root. For a kernel routine the crate does not wrap, the escape hatches
//! [`Irp::as_raw`], [`PendingIrp::as_raw`], [`PendingIrp::into_raw_irp`], `unsafe`
//! [`PendingIrp::from_raw`] and [`Device::as_raw`] reach the raw objects under the contracts
//! listed there.
//!
//! ## On Windows
//!
//! For a Windows target (without `host`) the seam is a real WDM driver's: `wdm_driver_entry!`
//! makes the image. The kernel routines come from `ntoskrnl.exe` through `raw-dylib` imports (no
//! WDK needed: this is how the Wine run builds drivers on Linux) or, with feature `wdk` (a driver
//! package built with the WDK), from wdk-sys's `ntddk` module, with the structure layouts
//! checked against wdk-sys's at compile time (`src/sys/nt/wdk.rs`, the only file naming
//! wdk-sys). The routines, with the IRQL each needs:
//!
//! | routine | IRQL |
//! |---|---|
//! | `IoCreateDevice`, `IoDeleteDevice`, `IoCreateSymbolicLink`, `IoDeleteSymbolicLink`, `IoDetachDevice` | PASSIVE_LEVEL |
//! | `IoAttachDeviceToDeviceStack`, `IofCallDriver`, `IofCompleteRequest`, `MmMapLockedPagesSpecifyCache` | ≤ DISPATCH_LEVEL |
//! | `KeAcquireSpinLockRaiseToDpc` / `KeReleaseSpinLock` | ≤ DISPATCH_LEVEL / DISPATCH_LEVEL |
//! | `IoReleaseCancelSpinLock` | DISPATCH_LEVEL (in a cancel routine) |
//! | `ExAllocatePool2` (wdk-alloc) or `ExAllocatePoolWithTag`, non-paged | ≤ DISPATCH_LEVEL |
//! | `ExAllocatePool2` / `ExAllocatePoolWithTag` with the driver's tag, paged or non-paged, `ExFreePoolWithTag` (`pool`) | ≤ DISPATCH_LEVEL (paged: ≤ APC_LEVEL) |
//! | `KeBugCheckEx`, `DbgPrint` | any |
#![no_std]
#![deny(unsafe_code)]

#[cfg(feature = "host")]
extern crate std;

#[allow(unused_extern_crates)]
extern crate alloc;

// A driver built with the WDK takes its panic handler (a bug check) from wdk-panic.
#[cfg(all(not(feature = "host"), feature = "wdk", target_os = "windows"))]
#[allow(
    unused_extern_crates,
    reason = "linked for its #[panic_handler], which no path names"
)]
extern crate wdk_panic;

// Without an operating-system backend (a bare `no_std` build) nothing can call the
// trampolines, so much of the seam is unused there.
#[allow(unsafe_code)]
#[cfg_attr(not(feature = "host"), allow(dead_code, unused_imports))]
mod sys;

pub mod csq;
pub mod device;
pub mod dispatch;
pub mod driver;
pub mod forward;
pub mod io;
pub mod ioctl;
pub mod irp;
pub mod log;
pub mod memory;
pub mod pool;
pub mod request;
pub mod status;
pub mod sync;
pub mod thread_rules;
mod typed_ioctl;

#[cfg(feature = "host")]
pub mod host;

/// What the entry macro expands to; not part of the API.
#[cfg(all(not(feature = "host"), target_os = "windows"))]
#[doc(hidden)]
pub mod __private {
    pub use crate::sys::nt::entry::{ALLOCATOR, Allocator, Pool, bug_check};

    /// The `DriverEntry` routine of driver type `D`, which the image's exported `DriverEntry`
    /// calls.
    #[must_use]
    pub const fn driver_entry<D: crate::WdmDriver>()
    -> unsafe extern "system" fn(*mut core::ffi::c_void, *const core::ffi::c_void) -> i32 {
        crate::sys::thunk::image_driver_entry::<D, crate::SystemCompleter>
    }
}

/// Makes this crate a WDM driver image: exports `DriverEntry` for the [`WdmDriver`] type given,
/// and provides the global allocator (non-paged pool), the panic handler (a bug check: a panic
/// in a driver is one) and the `_fltused` marker the MSVC linker wants.
///
/// Use it once, in the driver package's `lib.rs`:
///
/// ```ignore
/// #![no_std]
/// wdm_compat::wdm_driver_entry!(wdm_compat::io::WdmBackend<echo::Echo>);
/// ```
///
/// Available for Windows targets without the `host` feature. Without feature `wdk` it is the
/// portable backend (no WDK: the kernel routines are imported with `raw-dylib`, and the macro
/// also provides the allocator, panic handler and C runtime imports a WDK build gets from
/// wdk-alloc, wdk-panic and wdk-sys); with feature `wdk` the global allocator is wdk-alloc's
/// and the panic handler wdk-panic's.
#[cfg(all(not(feature = "host"), not(feature = "wdk"), target_os = "windows"))]
#[macro_export]
macro_rules! wdm_driver_entry {
    ($driver:ty) => {
        /// `DriverEntry`.
        ///
        /// # Safety
        ///
        /// Called by the system only, as the driver's entry point.
        #[unsafe(export_name = "DriverEntry")]
        // Like `#pragma alloc_text(INIT, DriverEntry)`: the kernel may discard it once run.
        #[unsafe(link_section = "INIT")]
        pub unsafe extern "system" fn __wdm_compat_driver_entry(
            driver: *mut ::core::ffi::c_void,
            registry_path: *const ::core::ffi::c_void,
        ) -> i32 {
            // SAFETY: the system calls DriverEntry with its driver object and registry path.
            unsafe { ($crate::__private::driver_entry::<$driver>())(driver, registry_path) }
        }

        #[global_allocator]
        static __WDM_COMPAT_ALLOCATOR: $crate::__private::Allocator = $crate::__private::ALLOCATOR;

        #[panic_handler]
        fn __wdm_compat_panic(_info: &::core::panic::PanicInfo<'_>) -> ! {
            // KMODE_EXCEPTION_NOT_HANDLED: the closest standard meaning of a Rust panic.
            $crate::__private::bug_check(0x1E)
        }

        /// Tells the MSVC linker that floating point is in use (core's formatting code refers
        /// to it).
        #[unsafe(no_mangle)]
        #[used]
        static _fltused: i32 = 0;

        // The C runtime routines the compiler emits calls to, from the kernel itself: a driver
        // links no C runtime.
        #[link(name = "ntoskrnl.exe", kind = "raw-dylib", modifiers = "+verbatim")]
        unsafe extern "C" {
            fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8;
            fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8;
            fn memset(dest: *mut u8, c: i32, n: usize) -> *mut u8;
            fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32;
            fn strlen(s: *const u8) -> usize;
        }

        /// The personality routine the unwind tables of the precompiled `alloc` refer to. A
        /// driver is built with `panic = "abort"`, so nothing unwinds through it; if it is ever
        /// called, that is a bug check.
        #[unsafe(no_mangle)]
        extern "C" fn __CxxFrameHandler3() -> ! {
            $crate::__private::bug_check(0x1E)
        }
    };
}

/// Makes this crate a WDM driver image built with the WDK (feature `wdk`): exports
/// `DriverEntry` for the [`WdmDriver`] type given and installs wdk-alloc's allocator; the panic
/// handler is wdk-panic's, linked by this crate.
#[cfg(all(not(feature = "host"), feature = "wdk", target_os = "windows"))]
#[macro_export]
macro_rules! wdm_driver_entry {
    ($driver:ty) => {
        /// `DriverEntry`.
        ///
        /// # Safety
        ///
        /// Called by the system only, as the driver's entry point.
        #[unsafe(export_name = "DriverEntry")]
        // Like `#pragma alloc_text(INIT, DriverEntry)`: the kernel may discard it once run.
        #[unsafe(link_section = "INIT")]
        pub unsafe extern "system" fn __wdm_compat_driver_entry(
            driver: *mut ::core::ffi::c_void,
            registry_path: *const ::core::ffi::c_void,
        ) -> i32 {
            // SAFETY: the system calls DriverEntry with its driver object and registry path.
            unsafe { ($crate::__private::driver_entry::<$driver>())(driver, registry_path) }
        }

        #[global_allocator]
        static __WDM_COMPAT_ALLOCATOR: $crate::__private::Allocator = $crate::__private::ALLOCATOR;
    };
}

pub use device::{
    Device, DeviceConfig, DeviceSecurity, IoType, LowerDevice, NamedDevice, OwnedDevice,
};
pub use dispatch::DispatchStatus;
pub use driver::{DeviceInterface, DriverSetup, PhysicalDevice, WdmDriver};
pub use forward::{CompletionObserver, IrpOutcome};
pub use ioctl::{IoBuffer, IoControlCode, Ioctl, RequiredAccess, TransferMethod};
#[cfg(feature = "tracking")]
pub use irp::TrackingCompleter;
pub use irp::{Irp, IrpCompleter, IrpCompletion, NoopCompleter, PendingIrp, SystemCompleter};
pub use request::{
    BufferedIoctl, FileObjectId, InDirectIoctl, IoRequest, IoctlBuffers, MajorFunction,
    OutDirectIoctl, Parameters, RequestorMode, UserAddress,
};
pub use status::{NtResult, NtStatus, Pending, Severity, to_result};
pub use sync::{SpinLock, SpinLockGuard};
