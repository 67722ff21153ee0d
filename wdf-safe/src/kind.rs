//! Request and queue kinds as types.
//!
//! A request's kind says which buffers it has ([`Read`] has no input buffer, [`Write`] no
//! output buffer; SDV InputBufferAPI / OutputBufferAPI); a queue's dispatch kind says which
//! callbacks it takes ([`Manual`] takes none) and whether requests can be retrieved from it
//! ([`Parallel`] cannot).

pub use crate::sys::{DispatchType, RequestType};

mod sealed {
    pub trait Sealed {}
}

/// A request kind.
pub trait RequestKind: sealed::Sealed + 'static {
    /// The request type.
    const TYPE: RequestType;
}

/// `IRP_MJ_CREATE`: a handle is being opened (`EvtDeviceFileCreate`-style handling through a
/// queue dedicated to create requests).
#[derive(Debug)]
pub enum Create {}
/// `EvtIoRead`: only an output buffer.
#[derive(Debug)]
pub enum Read {}
/// `EvtIoWrite`: only an input buffer.
#[derive(Debug)]
pub enum Write {}
/// `EvtIoDeviceControl`.
#[derive(Debug)]
pub enum DeviceControl {}
/// `EvtIoInternalDeviceControl`.
#[derive(Debug)]
pub enum InternalDeviceControl {}

macro_rules! kinds {
    ($($kind:ident),*) => {$(
        impl sealed::Sealed for $kind {}
        impl RequestKind for $kind {
            const TYPE: RequestType = RequestType::$kind;
        }
    )*};
}

kinds!(Create, Read, Write, DeviceControl, InternalDeviceControl);

mod sealed_queue {
    pub trait Sealed {}
}

/// A queue dispatch kind.
pub trait QueueKind: sealed_queue::Sealed + 'static {
    /// The dispatch type.
    const DISPATCH: DispatchType;
}

/// A queue kind whose requests the framework presents to callbacks (sequential or parallel).
pub trait Presenting: QueueKind {}

/// A queue kind the driver may retrieve requests from (`WdfIoQueueRetrieveNextRequest`):
/// manual and sequential queues; parallel queues refuse it.
pub trait Retrievable: QueueKind {}

/// One request at a time: the next is presented only when the driver holds none from this
/// queue (including requests it retrieved itself).
#[derive(Debug)]
pub enum Sequential {}
/// Requests are presented as they arrive, without limit.
#[derive(Debug)]
pub enum Parallel {}
/// No callbacks: requests wait until the driver retrieves them.
#[derive(Debug)]
pub enum Manual {}

impl sealed_queue::Sealed for Sequential {}
impl sealed_queue::Sealed for Parallel {}
impl sealed_queue::Sealed for Manual {}
impl QueueKind for Sequential {
    const DISPATCH: DispatchType = DispatchType::Sequential;
}
impl QueueKind for Parallel {
    const DISPATCH: DispatchType = DispatchType::Parallel;
}
impl QueueKind for Manual {
    const DISPATCH: DispatchType = DispatchType::Manual;
}
impl Presenting for Sequential {}
impl Presenting for Parallel {}
impl Retrievable for Sequential {}
impl Retrievable for Manual {}

/// Device states.
pub mod state {
    use core::marker::PhantomData;

    /// A control device after `WdfDeviceCreate` and before `WdfControlFinishInitializing`:
    /// queues, dispatching and the symbolic link are set up now; it receives no I/O.
    #[derive(Debug)]
    pub enum Initializing {}

    /// A PnP device (FDO or filter) inside the `EvtDriverDeviceAdd` that created it: queues,
    /// dispatching and device interfaces are set up now. The framework finishes its
    /// initialization when the callback returns, so the state borrows the callback (`'add`)
    /// and cannot outlive it; [`Device::ready`](crate::Device::ready) gives the handle to keep.
    #[derive(Debug)]
    pub struct Adding<'add>(core::convert::Infallible, PhantomData<&'add mut ()>);

    /// A device that receives I/O: a control device after `WdfControlFinishInitializing`, a
    /// PnP device once `EvtDriverDeviceAdd` returned.
    #[derive(Debug)]
    pub enum Ready {}

    /// The states in which a device is still set up (queues, dispatching, cleanup).
    #[diagnostic::on_unimplemented(
        message = "a device in state `{Self}` is no longer being set up",
        label = "queues, dispatching and cleanup are set up before `finish_initializing` (control device) or inside `EvtDriverDeviceAdd` (PnP device)"
    )]
    pub trait BeingSetUp: sealed::Sealed {}
    impl BeingSetUp for Initializing {}
    impl BeingSetUp for Adding<'_> {}

    mod sealed {
        pub trait Sealed {}
        impl Sealed for super::Initializing {}
        impl Sealed for super::Adding<'_> {}
    }
}
