//! Why some types stay on one thread, spelled so the compiler says it.
//!
//! A type that must not cross threads holds a `PhantomData` of one of the trait objects below:
//! a `dyn Trait` without `+ Send` is neither `Send` nor `Sync`, and the compiler names it when a
//! value is moved to another thread. So instead of "`*mut ()` cannot be sent between threads
//! safely", a driver author reads the rule they broke:
//!
//! ```text
//! error[E0277]: `(dyn wdm_compat::thread_rules::AnIrpIsFinishedInItsDispatchRoutineOrMarkedPending
//!               + 'static)` cannot be sent between threads safely
//! ```
//!
//! The traits have no methods and no implementations; they exist only to be named.

/// An [`Irp`](crate::Irp) is completed or passed down in the thread of its dispatch routine. To
/// finish it in another thread, call [`Irp::mark_pending`](crate::Irp::mark_pending): the
/// [`PendingIrp`](crate::PendingIrp) it returns can be sent anywhere.
pub trait AnIrpIsFinishedInItsDispatchRoutineOrMarkedPending {}

/// A spin lock is released on the processor that acquired it: its guard stays on the thread
/// that took it (and the IRQL it raised is restored there).
pub trait ASpinLockIsReleasedOnTheThreadThatAcquiredIt {}

/// Which thread a value must stay on, as a `PhantomData` field type (see the module docs).
pub type StaysOnItsThread<Rule> = core::marker::PhantomData<Rule>;
