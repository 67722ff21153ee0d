//! Why some wdf-safe types stay on one thread, spelled so the compiler says it (the same device
//! as [`wdm_compat::thread_rules`]: a `PhantomData` of a trait object without `+ Send`, which
//! the compiler names when a value is moved to another thread).

/// A [`Request`](crate::Request) is completed, forwarded or sent from the callback it was
/// presented to. To keep it for later (and finish it from another thread), forward it to a
/// manual queue and retrieve it there, or mark it cancelable and park it or keep it
/// ([`CancelableRequest::keep`](crate::CancelableRequest::keep)).
pub trait ARequestIsFinishedInItsCallbackOrForwardedToAManualQueue {}

/// A wait lock is released on the thread that acquired it: its guard stays there.
pub trait AWaitLockIsReleasedOnTheThreadThatAcquiredIt {}
