//! Timers (`WDFTIMER`): a callback a device's driver gets once per start, or every period.
//!
//! A timer is created with a device as its parent (`WdfTimerCreate` with
//! `Attributes.ParentObject`), goes with it, and calls its callback with the driver's value at
//! DISPATCH_LEVEL, as its DPC does: a spin lock may be taken there, a wait lock may not. A
//! [`Timer`] kept past its device's deletion finds no timer: `start` returns `false` and does
//! nothing.
//!
//! ```
//! # #[cfg(feature = "host")] fn main() {
//! use wdf_safe::device::SDDL_DEVOBJ_SYS_ALL_ADM_ALL;
//! use wdf_safe::timer::{Timer, TimerConfig};
//! use wdf_safe::{ControlDeviceInit, DriverContext, KmdfDriver, NtResult, NtStatus};
//!
//! struct Ticker {
//!     timer: Timer<Ticker>,
//! }
//!
//! impl KmdfDriver for Ticker {
//!     fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
//!         let mut init = ControlDeviceInit::allocate(driver, SDDL_DEVOBJ_SYS_ALL_ADM_ALL)
//!             .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
//!         init.assign_name(r"\Device\Ticker")?;
//!         let device = init.create(driver).map_err(|(_, status)| status)?;
//!         // Every 100 ms once started.
//!         let timer = device.create_timer(TimerConfig::periodic(100, |_: &Ticker, _device| {
//!             wdm_compat::kd_print!("tick");
//!         }))?;
//!         let _ready = device.finish_initializing();
//!         timer.start(100);
//!         Ok(Self { timer })
//!     }
//! }
//!
//! let io = wdm_compat::host::IoManager::new();
//! io.load_driver("ticker", wdf_safe::entry_point::<Ticker>()).unwrap();
//! // Time passes only when the test says so: 100, 200 and 300 ms.
//! wdf_safe::advance_clock(&io, core::time::Duration::from_millis(350));
//! assert_eq!(io.trace().iter().filter(|line| *line == "tick").count(), 3);
//! # }
//! # #[cfg(not(feature = "host"))] fn main() {}
//! ```

use core::marker::PhantomData;

use crate::KmdfDriver;
use crate::context::{ContextRef, ContextType};
use crate::device::{Device, ParentCallback};
use crate::kind::state::Ready;
use crate::sys::TimerHandle;
use wdm_compat::NtResult;

/// How a timer fires, and what it calls (`WDF_TIMER_CONFIG`).
pub struct TimerConfig<D: KmdfDriver> {
    period_ms: u32,
    callback: fn(&D, Device<D, Ready>),
}

impl<D: KmdfDriver> TimerConfig<D> {
    /// Fires once per [`Timer::start`] (`Period` 0). The callback gets the driver and the
    /// timer's device.
    ///
    /// IRQL: any: builds the configuration.
    #[must_use]
    pub const fn one_shot(callback: fn(&D, Device<D, Ready>)) -> Self {
        Self {
            period_ms: 0,
            callback,
        }
    }

    /// Once started, fires every `period_ms` milliseconds until stopped (`Period`).
    ///
    /// IRQL: any: builds the configuration.
    #[must_use]
    pub const fn periodic(period_ms: u32, callback: fn(&D, Device<D, Ready>)) -> Self {
        Self {
            period_ms,
            callback,
        }
    }
}

/// A `WDFTIMER` whose parent is one of the driver's devices. A shared handle, like a ready
/// device: the driver keeps it in its state and starts or stops it from any callback.
pub struct Timer<D: KmdfDriver> {
    raw: TimerHandle<D>,
    _driver: PhantomData<fn(&D)>,
}

impl<D: KmdfDriver> Clone for Timer<D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D: KmdfDriver> Copy for Timer<D> {}

impl<D: KmdfDriver> Timer<D> {
    /// `WdfObjectAllocateContext` on the timer: attaches a context of type `T`, initialised
    /// in place by `init`, with an optional cleanup callback that runs when the timer is
    /// deleted (with its device). Its callback reaches it through the handle the driver keeps
    /// (`driver.timer.context::<T>()`), as a C driver's through `TimerGetContext`.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// `STATUS_OBJECT_NAME_EXISTS` (an NT *success* code, as in KMDF) when the timer has a
    /// context of type `T` already; `init` is not called then.
    pub fn allocate_context<T: ContextType>(
        &self,
        init: impl FnOnce() -> T,
        cleanup: Option<fn(&T)>,
    ) -> NtResult<ContextRef<T>> {
        self.raw
            .allocate_context(T::type_info(), init, cleanup)
            .map(ContextRef::new)
    }

    /// `WdfObjectGetTypedContext` on the timer.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL + 1.
    #[must_use]
    pub fn context<T: ContextType>(&self) -> Option<ContextRef<T>> {
        self.raw.context::<T>(T::type_info()).map(ContextRef::new)
    }

    /// `WdfTimerStart`: fires `due_ms` milliseconds from now (then every period, for a
    /// periodic timer). Returns whether it was already waiting to fire (it now waits for the
    /// new time instead). `false`, and nothing happens, once the timer is gone with its
    /// device.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn start(&self, due_ms: u32) -> bool {
        self.raw.start(due_ms)
    }

    /// `WdfTimerStop(Wait = FALSE)`: takes the timer out of the queue. Returns whether it was
    /// waiting to fire. A callback already running on another processor still finishes.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn stop(&self) -> bool {
        self.raw.stop(false).unwrap_or(false)
    }

    /// `WdfTimerStop(Wait = TRUE)`: as [`stop`](Self::stop), then waits until a callback
    /// running on another processor has returned, so nothing of the timer runs afterwards.
    ///
    /// IRQL: PASSIVE_LEVEL, and not from the timer's own callback (it would wait for itself).
    ///
    /// # Errors
    ///
    /// `STATUS_INVALID_DEVICE_REQUEST` above PASSIVE_LEVEL (a timer callback runs at
    /// DISPATCH_LEVEL, so this includes its own callback).
    pub fn stop_and_wait(&self) -> NtResult<bool> {
        self.raw.stop(true)
    }
}

impl<D: KmdfDriver, S> Device<D, S> {
    /// `WdfTimerCreate` with this device as the parent: the timer goes with the device.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// `STATUS_INSUFFICIENT_RESOURCES`, `STATUS_INVALID_DEVICE_STATE` once the device is gone,
    /// or what `WdfTimerCreate` returned.
    pub fn create_timer(&self, config: TimerConfig<D>) -> NtResult<Timer<D>> {
        TimerHandle::create(
            self.raw(),
            config.period_ms,
            ParentCallback(config.callback),
            None,
        )
        .map(|raw| Timer {
            raw,
            _driver: PhantomData,
        })
    }

    /// `WdfTimerCreate` with one of this device's queues as the parent and
    /// `AutomaticSerialization = TRUE` (the C echo sample's timer): when the queue is
    /// [`synchronized`](crate::QueueConfig::synchronized), the timer's callback never runs at
    /// the same time as the queue's callbacks or its requests' cancel routines; otherwise the
    /// framework serializes nothing (`_GetEffectiveLock`: a parent without a synchronization
    /// scope gives no lock). The timer goes with the queue. Its callback still gets the device.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// As [`create_timer`](Self::create_timer), and `STATUS_INVALID_DEVICE_REQUEST` for a
    /// queue of another device.
    pub fn create_serialized_timer<K: crate::kind::QueueKind>(
        &self,
        queue: &crate::Queue<K>,
        config: TimerConfig<D>,
    ) -> NtResult<Timer<D>> {
        TimerHandle::create(
            self.raw(),
            config.period_ms,
            ParentCallback(config.callback),
            Some(queue.raw()),
        )
        .map(|raw| Timer {
            raw,
            _driver: PhantomData,
        })
    }
}
