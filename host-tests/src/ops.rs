//! Sequences of user-mode operations, read from arbitrary bytes, run against one sample under one
//! backend with the verifier on: what the fuzz target `user_ops` (`host-tests/fuzz`) drives, and
//! what the host tests replay.
//!
//! Every sequence is one a user-mode program (or the PnP manager, for the filter's device node)
//! may legally perform: open, read, write, IOCTLs with any code and lengths, overlapped reads
//! that are cancelled, `CancelIo`, close, surprise removal, unload and reload — always ending
//! with every operation finished, every handle closed and the driver unloaded, as the service
//! control manager requires. Whatever the bytes, the driver must not crash (a panic in driver
//! code is a reported bug check) and the verifier must report nothing.

use std::time::Duration;

use wdm_compat::NtStatus;
use wdm_compat::host::{DriverId, FileHandle, IoManager, IoOperation};

use crate::Backend;
use crate::hid::{self, KeyboardStack};

/// A sample the operations run against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sample {
    /// `samples/echo`.
    Echo,
    /// `samples/null-device`.
    NullDevice,
    /// `samples/hid-filter`, over the simulated keyboard stack ([`crate::hid`]).
    HidFilter,
}

impl Sample {
    /// Every sample.
    pub const ALL: [Self; 3] = [Self::Echo, Self::NullDevice, Self::HidFilter];

    /// A sample and a backend, chosen by one byte.
    #[must_use]
    pub const fn pick(byte: u8) -> (Self, Backend) {
        let sample = match byte % 3 {
            0 => Self::Echo,
            1 => Self::NullDevice,
            _ => Self::HidFilter,
        };
        let backend = if byte & 0x80 == 0 {
            Backend::Wdm
        } else {
            Backend::Kmdf
        };
        (sample, backend)
    }

    /// The IOCTL codes the sample knows (picked more often than random ones).
    const fn known_ioctl(self) -> u32 {
        match self {
            Self::Echo => echo::IOCTL_ECHO.code().to_raw(),
            // It has none: function 0 of its device type.
            Self::NullDevice => (null_device::DEVICE_TYPE as u32) << 16,
            Self::HidFilter => hid::IOCTL_GET_ATTRIBUTES,
        }
    }
}

/// The most handles a sequence keeps open at once.
const MAX_HANDLES: usize = 4;
/// The most operations a sequence keeps in flight.
const MAX_IN_FLIGHT: usize = 8;
/// How long a finishing sequence waits for a cancelled operation.
const FINISH_WAIT: Duration = Duration::from_secs(5);

/// The bytes, read front to back; reads past the end give zeros (the sequence then winds down).
struct Bytes<'a> {
    data: &'a [u8],
}

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&first, rest)) => {
                self.data = rest;
                first
            }
            None => 0,
        }
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    fn take(&mut self, length: usize) -> Vec<u8> {
        let (head, rest) = self.data.split_at(length.min(self.data.len()));
        self.data = rest;
        head.to_vec()
    }

    const fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// The driver under test, loaded.
enum Loaded {
    /// A control-device sample: its driver.
    Control(DriverId),
    /// The filter over its keyboard stack (and whether the stack was surprise-removed).
    Filter(KeyboardStack, DriverId, bool),
}

/// One run: the simulation, the loaded driver, open handles and operations in flight.
struct Run {
    io: IoManager,
    sample: Sample,
    backend: Backend,
    loaded: Option<Loaded>,
    handles: Vec<FileHandle>,
    in_flight: Vec<IoOperation>,
}

impl Run {
    fn load(&mut self) -> Result<(), String> {
        let loaded = match self.sample {
            Sample::Echo => Loaded::Control(self.load_control::<echo::Echo>()?),
            Sample::NullDevice => Loaded::Control(self.load_control::<null_device::NullDevice>()?),
            Sample::HidFilter => {
                let entry = self.backend.entry_point::<hid_filter::HidFilter>();
                let (stack, filter) = KeyboardStack::build(&self.io, entry)
                    .map_err(|status| format!("the keyboard stack failed: {status}"))?;
                Loaded::Filter(stack, filter, false)
            }
        };
        self.loaded = Some(loaded);
        Ok(())
    }

    fn load_control<D: wdm_compat::io::IoDriver>(&self) -> Result<DriverId, String> {
        self.io
            .load_driver(D::NAME, self.backend.entry_point::<D>())
            .map_err(|status| format!("loading {} failed: {status}", D::NAME))
    }

    fn open(&mut self) {
        if self.handles.len() >= MAX_HANDLES {
            return;
        }
        let opened = match (&self.loaded, self.sample) {
            (Some(Loaded::Filter(stack, _, false)), _) => stack.node().open(),
            (Some(Loaded::Control(_)), Sample::Echo) => self.io.open(echo::USER_PATH),
            (Some(Loaded::Control(_)), _) => self.io.open(null_device::USER_PATH),
            _ => return,
        };
        if let Ok(handle) = opened {
            self.handles.push(handle);
        }
    }

    fn handle(&self, bytes: &mut Bytes<'_>) -> Option<&FileHandle> {
        let count = self.handles.len();
        (count > 0)
            .then(|| self.handles.get(usize::from(bytes.byte()) % count))
            .flatten()
    }

    fn keep(&mut self, operation: Result<IoOperation, NtStatus>) {
        if let Ok(operation) = operation {
            self.in_flight.push(operation);
        }
    }

    /// One operation; `false` once the bytes are used up.
    fn step(&mut self, bytes: &mut Bytes<'_>) -> bool {
        if bytes.is_empty() {
            return false;
        }
        self.in_flight.retain(|operation| !operation.is_complete());
        let full = self.in_flight.len() >= MAX_IN_FLIGHT;
        match bytes.byte() % 11 {
            0 => self.open(),
            1 => {
                let count = self.handles.len();
                if count > 0 {
                    let handle = self.handles.swap_remove(usize::from(bytes.byte()) % count);
                    let _ = handle.close();
                }
            }
            2 | 3 if !full => {
                let length = usize::from(bytes.byte() % 64);
                let read = self.handle(bytes).map(|h| h.read_async(length));
                if let Some(read) = read {
                    self.keep(read);
                }
            }
            4 => {
                let length = usize::from(bytes.byte() % 80);
                let data = bytes.take(length);
                if let Some(handle) = self.handle(bytes) {
                    let _ = handle.write(&data);
                }
            }
            5 | 6 if !full => {
                let code = if bytes.byte().is_multiple_of(2) {
                    self.sample.known_ioctl()
                } else {
                    bytes.u32()
                };
                let input_length = usize::from(bytes.byte() % 16);
                let input = bytes.take(input_length);
                let output = usize::from(bytes.byte() % 16);
                let sent = self
                    .handle(bytes)
                    .map(|h| h.device_io_control_async(code, &input, output));
                if let Some(sent) = sent {
                    self.keep(sent);
                }
            }
            7 => {
                let index = usize::from(bytes.byte());
                if let Some(operation) = self.in_flight.get(index % self.in_flight.len().max(1)) {
                    let _ = operation.cancel();
                }
            }
            8 => {
                if let Some(handle) = self.handle(bytes) {
                    let _ = handle.cancel_io();
                }
            }
            9 => self.device_event(bytes.byte()),
            10 => {
                if let Some(Loaded::Filter(stack, _, false)) = &self.loaded {
                    let _ = stack.press(hid::key_report(bytes.byte()));
                }
            }
            _ => {}
        }
        true
    }

    /// A key press, a surprise removal (filter), or an unload and reload (after the handles are
    /// closed, as the service control manager requires).
    fn device_event(&mut self, byte: u8) {
        if byte % 4 == 1 {
            if self.unload().is_ok() {
                let _ = self.load();
            }
            return;
        }
        if let Some(Loaded::Filter(stack, _, removed)) = &mut self.loaded
            && !*removed
        {
            if byte.is_multiple_of(4) {
                let _ = stack.node().surprise_remove();
                *removed = true;
            } else {
                let _ = stack.press(hid::key_report(byte));
            }
        }
    }

    /// Finishes every operation, closes every handle and unloads the driver.
    fn unload(&mut self) -> Result<(), String> {
        for operation in self.in_flight.drain(..) {
            let _ = operation.cancel();
            if operation.wait(FINISH_WAIT).is_none() {
                return Err("a cancelled operation never finished".into());
            }
        }
        for handle in self.handles.drain(..) {
            let _ = handle.close();
        }
        match self.loaded.take() {
            Some(Loaded::Control(driver)) => self
                .io
                .unload_driver(driver)
                .map_err(|status| format!("unload failed: {status}")),
            Some(Loaded::Filter(stack, filter, _)) => {
                let _ = stack.node().remove();
                self.io
                    .unload_driver(filter)
                    .map_err(|status| format!("unload failed: {status}"))
            }
            None => Ok(()),
        }
    }
}

/// Runs the operations `data` describes (its first byte picks the sample and backend: see
/// [`Sample::pick`]).
///
/// # Errors
///
/// What went wrong: a load or unload failure, an operation that never finished once cancelled,
/// or the verifier's reports, one per line.
pub fn run_bytes(data: &[u8]) -> Result<(), String> {
    let mut bytes = Bytes { data };
    let (sample, backend) = Sample::pick(bytes.byte());
    run(sample, backend, bytes.data)
}

/// Runs the operations `data` describes against `sample` built with `backend`.
///
/// # Errors
///
/// As [`run_bytes`].
pub fn run(sample: Sample, backend: Backend, data: &[u8]) -> Result<(), String> {
    let io = IoManager::new();
    // Reports are collected and returned, not panicked on, so the caller says what failed.
    io.set_strict(false);
    let mut run = Run {
        io: io.clone(),
        sample,
        backend,
        loaded: None,
        handles: Vec::new(),
        in_flight: Vec::new(),
    };
    run.load()?;
    let mut bytes = Bytes { data };
    while run.step(&mut bytes) {}
    run.unload()?;
    let violations = io.take_violations();
    if violations.is_empty() {
        Ok(())
    } else {
        Err(violations
            .iter()
            .map(|violation| format!("{violation}"))
            .collect::<Vec<_>>()
            .join("\n"))
    }
}
