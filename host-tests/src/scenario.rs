//! The end-to-end runs behind `run-sample`: load a sample into a fresh simulation, drive it from
//! the user-mode side the way its Windows client does, unload it, and collect what the client
//! would print and what a kernel debugger (DbgView) would show.

use wdm_compat::NtStatus;
use wdm_compat::host::IoManager;

use crate::Backend;
use crate::hid::{self, KeyboardStack};

/// The outcome of a run.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The client's output, line by line.
    pub client: Vec<String>,
    /// The driver's trace lines (what DbgView shows).
    pub trace: Vec<String>,
    /// Verifier reports, one line each (none when the driver behaved).
    pub violations: Vec<String>,
    /// Whether every check of the client passed and the verifier reported nothing.
    pub passed: bool,
}

/// Collects client lines and failed checks.
struct Client {
    lines: Vec<String>,
    failures: usize,
}

impl Client {
    fn new(title: &str, backend: Backend) -> Self {
        Self {
            lines: vec![format!(
                "=== {title} ({} backend, host simulation) ===",
                backend.name()
            )],
            failures: 0,
        }
    }

    fn line(&mut self, text: impl Into<String>) {
        self.lines.push(text.into());
    }

    fn check(&mut self, ok: bool, what: &str) {
        if ok {
            self.lines.push(format!("PASS - {what}"));
        } else {
            self.failures += 1;
            self.lines.push(format!("FAIL - {what}"));
        }
    }

    fn finish(self, io: &IoManager) -> Outcome {
        let violations: Vec<String> = io
            .take_violations()
            .iter()
            .map(|violation| format!("{violation}"))
            .collect();
        Outcome {
            passed: self.failures == 0 && violations.is_empty(),
            client: self.lines,
            trace: io.trace(),
            violations,
        }
    }
}

/// A fresh simulation that records verifier reports instead of panicking, so the run can print
/// them.
fn simulation() -> IoManager {
    let io = IoManager::new();
    io.set_strict(false);
    io
}

/// The echo client: `IOCTL_ECHO` with `value`, then a write and a read back.
#[must_use]
pub fn echo(backend: Backend, value: u32) -> Outcome {
    let io = simulation();
    let mut client = Client::new("echo", backend);
    let code = echo::IOCTL_ECHO.code();
    client.line(format!("Device        : {}", echo::USER_PATH));
    client.line(format!("IOCTL         : {code}"));
    client.line(format!("Send          : {value:#010X} ({value})"));
    let driver = match io.load_driver("echo", backend.entry_point::<echo::Echo>()) {
        Ok(driver) => driver,
        Err(status) => {
            client.check(false, &format!("driver load failed: {status}"));
            return client.finish(&io);
        }
    };
    match io.open(echo::USER_PATH) {
        Ok(handle) => {
            client.line("Open          : OK");
            let result = handle.device_io_control(code.to_raw(), &value.to_le_bytes(), 4);
            let received = <[u8; 4]>::try_from(result.data.as_slice())
                .ok()
                .map(u32::from_le_bytes);
            match received {
                Some(received) => {
                    client.line(format!("Received      : {received:#010X} ({received})"))
                }
                None => client.line(format!("Received      : nothing ({})", result.status)),
            }
            client.line(format!("Bytes returned: {}", result.information));
            client.check(
                result.status == NtStatus::SUCCESS
                    && received == Some(value)
                    && result.information == 4,
                "echo correct",
            );
            let message = b"hello, echo";
            let written = handle.write(message);
            let read = handle.read(64);
            client.line(format!(
                "Write/read    : wrote {} bytes, read back {:?}",
                written.information,
                String::from_utf8_lossy(&read.data)
            ));
            client.check(
                written.status == NtStatus::SUCCESS && read.data == message,
                "write-then-read echoes the bytes",
            );
            let status = handle.close();
            client.check(status == NtStatus::SUCCESS, "close");
        }
        Err(status) => client.check(false, &format!("open failed: {status}")),
    }
    let unloaded = io.unload_driver(driver);
    client.check(unloaded.is_ok(), "unload");
    client.finish(&io)
}

/// The null-device client: open, write, read, close.
#[must_use]
pub fn null_device(backend: Backend) -> Outcome {
    let io = simulation();
    let mut client = Client::new("null-device", backend);
    client.line(format!("Device        : {}", null_device::USER_PATH));
    let driver = match io.load_driver(
        "null-device",
        backend.entry_point::<null_device::NullDevice>(),
    ) {
        Ok(driver) => driver,
        Err(status) => {
            client.check(false, &format!("driver load failed: {status}"));
            return client.finish(&io);
        }
    };
    match io.open(null_device::USER_PATH) {
        Ok(handle) => {
            client.line("Open          : OK");
            let written = handle.write(b"hello");
            client.line(format!(
                "Write         : {} , {} bytes written",
                written.status, written.information
            ));
            client.check(
                written.status == NtStatus::SUCCESS && written.information == 5,
                "write discards and reports all bytes",
            );
            let read = handle.read(16);
            client.line(format!(
                "Read          : {} , {} bytes read",
                read.status, read.information
            ));
            client.check(
                read.status == NtStatus::SUCCESS && read.information == 0,
                "read returns zero bytes",
            );
            let status = handle.close();
            client.check(status == NtStatus::SUCCESS, "close");
        }
        Err(status) => client.check(false, &format!("open failed: {status}")),
    }
    let unloaded = io.unload_driver(driver);
    client.check(unloaded.is_ok(), "unload");
    client.finish(&io)
}

/// The HID filter over a simulated keyboard: a read passes through the filter and completes
/// with the key's report, an internal IOCTL passes through, then the device is removed.
#[must_use]
pub fn hid_filter(backend: Backend) -> Outcome {
    let io = simulation();
    let mut client = Client::new("hid-filter", backend);
    client.line(format!(
        "Device        : {} (keyboard, filter attached)",
        hid::USER_PATH
    ));
    let (stack, filter) =
        match KeyboardStack::build(&io, backend.entry_point::<hid_filter::HidFilter>()) {
            Ok(built) => built,
            Err(status) => {
                client.check(false, &format!("device stack failed: {status}"));
                return client.finish(&io);
            }
        };
    match stack.node().open() {
        Ok(handle) => {
            client.line("Open          : OK");
            match handle.read_async(hid::REPORT_LENGTH) {
                Ok(read) => {
                    let report = hid::key_report(0x04);
                    let pressed = stack.press(report);
                    let result = read.result();
                    let data = result.as_ref().map(|r| r.data.clone()).unwrap_or_default();
                    client.line(format!("Read report   : {data:02X?}"));
                    client.check(
                        pressed && data == report,
                        "report reaches the reader unchanged",
                    );
                }
                Err(status) => client.check(false, &format!("read failed: {status}")),
            }
            let attributes = handle.internal_device_control(hid::IOCTL_GET_ATTRIBUTES, &[], 4);
            client.line(format!(
                "Attributes    : {:02X?} ({})",
                attributes.data, attributes.status
            ));
            client.check(
                attributes.data == hid::ATTRIBUTES,
                "internal IOCTL passes through unchanged",
            );
            let status = handle.close();
            client.check(status == NtStatus::SUCCESS, "close");
        }
        Err(status) => client.check(false, &format!("open failed: {status}")),
    }
    let removed = stack.node().remove();
    client.check(removed == NtStatus::SUCCESS, "remove device");
    let devices = io.devices_of(filter);
    let gone = !devices.is_empty()
        && devices.iter().all(|&device| {
            io.device(device)
                .is_some_and(|info| info.deleted && info.attached_to.is_none())
        });
    client.check(gone, "filter device detached and deleted");
    let unloaded = io.unload_driver(filter);
    client.check(unloaded.is_ok(), "unload");
    client.finish(&io)
}

/// The KMDF echo client, as Microsoft's echoapp runs against its sample: open the device
/// interface, write a pattern, read it back and compare; then a request cancelled while it
/// waits for the timer. KMDF only: the sample is written against wdf-safe directly.
#[must_use]
pub fn kmdf_echo() -> Outcome {
    let io = simulation();
    let mut client = Client::new("kmdf-echo", Backend::Kmdf);
    let path = crate::root::KMDF_ECHO_INTERFACE;
    client.line(format!("Device        : {path} (GUID_DEVINTERFACE_ECHO)"));
    let driver = match io.load_driver("kmdfecho", wdf_safe::entry_point::<kmdf_echo::KmdfEcho>()) {
        Ok(driver) => driver,
        Err(status) => {
            client.check(false, &format!("driver load failed: {status}"));
            return client.finish(&io);
        }
    };
    let node = match crate::root::root_node(&io, r"\Device\RootEcho", driver) {
        Ok(node) => node,
        Err(status) => {
            client.check(false, &format!("root\\ECHO node failed: {status}"));
            return client.finish(&io);
        }
    };
    let tick = || {
        wdf_safe::advance_clock(
            &io,
            core::time::Duration::from_millis(u64::from(kmdf_echo::TIMER_PERIOD_MS)),
        );
    };
    match io.open(path) {
        Ok(handle) => {
            client.line("Open          : OK");
            let pattern: Vec<u8> = (0u8..=255).cycle().take(512).collect();
            let write = handle.write_async(&pattern);
            tick();
            let written = write.ok().and_then(|w| w.result());
            client.line(format!(
                "Write         : {} bytes (completed by the timer)",
                written.as_ref().map_or(0, |w| w.information)
            ));
            let read = handle.read_async(pattern.len());
            tick();
            let read = read.ok().and_then(|r| r.result());
            let data = read.map(|r| r.data).unwrap_or_default();
            client.line(format!("Read          : {} bytes", data.len()));
            client.check(
                written.is_some_and(|w| w.status == NtStatus::SUCCESS) && data == pattern,
                "pattern written and read back",
            );
            let cancelled = handle.write_async(b"cancel me");
            let status = cancelled.ok().and_then(|w| {
                w.cancel();
                w.result()
            });
            client.line(format!(
                "Cancel        : {}",
                status.as_ref().map_or(NtStatus::UNSUCCESSFUL, |s| s.status)
            ));
            client.check(
                status.is_some_and(|s| s.status == NtStatus::CANCELLED),
                "a waiting request cancels",
            );
            let status = handle.close();
            client.check(status == NtStatus::SUCCESS, "close");
        }
        Err(status) => client.check(false, &format!("open failed: {status}")),
    }
    client.check(node.remove() == NtStatus::SUCCESS, "remove device");
    let unloaded = io.unload_driver(driver);
    client.check(unloaded.is_ok(), "unload");
    client.finish(&io)
}

/// The toaster client: open the device interface, read and write, ask the driver for its
/// state; then the system sleeps with a read outstanding, which completes once it wakes; then
/// the toaster is removed. KMDF only: the sample is written against wdf-safe directly.
#[must_use]
pub fn toaster() -> Outcome {
    use toaster::{IOCTL_TOASTER_GET_STATE, ToasterState};
    use wdm_compat::ioctl::IoBuffer;

    let io = simulation();
    let mut client = Client::new("toaster", Backend::Kmdf);
    let path = crate::root::TOASTER_INTERFACE;
    client.line(format!(
        "Device        : {path} (GUID_DEVINTERFACE_TOASTER)"
    ));
    let driver = match io.load_driver("toaster", wdf_safe::entry_point::<toaster::Toaster>()) {
        Ok(driver) => driver,
        Err(status) => {
            client.check(false, &format!("driver load failed: {status}"));
            return client.finish(&io);
        }
    };
    let node = match crate::root::root_node(&io, r"\Device\ToasterPdo1", driver) {
        Ok(node) => node,
        Err(status) => {
            client.check(false, &format!("toaster node failed: {status}"));
            return client.finish(&io);
        }
    };
    let state = |handle: &wdm_compat::host::FileHandle| {
        let result = handle.device_io_control(
            IOCTL_TOASTER_GET_STATE.code().to_raw(),
            &[],
            ToasterState::SIZE,
        );
        ToasterState::read_from(&result.data)
    };
    match io.open(path) {
        Ok(handle) => {
            client.line("Open          : OK");
            let read = handle.read(16);
            let write = handle.write(b"two slices");
            client.line(format!(
                "Read, write   : {} and {} bytes",
                read.information, write.information
            ));
            client.check(
                read.status == NtStatus::SUCCESS
                    && read.information == 16
                    && write.status == NtStatus::SUCCESS
                    && write.information == 10,
                "a read and a write succeed with their length",
            );
            let before = state(&handle);
            client.line(before.map_or_else(
                || "State         : unavailable".to_string(),
                |s| {
                    format!(
                        "State         : hardware {}, {}, {} D0 entries, {} transfers, {} open handle(s), DebugLevel {}",
                        if s.hardware == 1 { "held" } else { "released" },
                        if s.in_d0 == 1 { "D0" } else { "Dx" },
                        s.d0_entries,
                        s.transfers,
                        s.opens,
                        s.debug_level
                    )
                },
            ));
            client.check(
                before.is_some_and(|s| {
                    s.hardware == 1 && s.in_d0 == 1 && s.transfers == 2 && s.opens == 1
                }),
                "the driver holds the hardware and the device is in D0",
            );
            let slept = node.set_system_power(3);
            let waiting = handle.read_async(8);
            let held = waiting.as_ref().is_ok_and(|w| !w.is_complete());
            let woke = node.set_system_power(0);
            let done = waiting.ok().and_then(|w| w.result());
            client.line(format!(
                "Sleep, wake   : {slept}, {woke}; the read sent asleep {}",
                if held {
                    "waited for D0"
                } else {
                    "did not wait"
                }
            ));
            client.check(
                held && done.is_some_and(|d| d.status == NtStatus::SUCCESS && d.information == 8),
                "a read sent while the system sleeps completes after it wakes",
            );
            let after = state(&handle);
            client.check(
                after.is_some_and(|s| s.d0_entries == 2),
                "the device entered D0 again",
            );
            let status = handle.close();
            client.check(status == NtStatus::SUCCESS, "close");
        }
        Err(status) => client.check(false, &format!("open failed: {status}")),
    }
    client.check(node.remove() == NtStatus::SUCCESS, "remove device");
    let unloaded = io.unload_driver(driver);
    client.check(unloaded.is_ok(), "unload");
    client.finish(&io)
}

/// The kbfiltr client on a simulated PS/2 keyboard: the class driver connects (the filter hooks
/// it), a few keys are typed, the client opens the sideband device and asks what the filter
/// saw; then the keyboard is removed (the sideband device with it). KMDF only.
#[must_use]
pub fn kbfiltr() -> Outcome {
    use crate::keyboard::{self, KeyboardClassStack};
    use kbfiltr::{
        CONTROL_DEVICE_PATH, IOCTL_KBFILTR_GET_KEYBOARD_ATTRIBUTES, IOCTL_KBFILTR_GET_KEYSTROKES,
        KeystrokeReport,
    };
    use wdm_compat::ioctl::IoBuffer;

    let io = simulation();
    let mut client = Client::new("kbfiltr", Backend::Kmdf);
    client.line(format!(
        "Device        : {CONTROL_DEVICE_PATH} (the filter's sideband device)"
    ));
    let (stack, driver) = match KeyboardClassStack::build(
        &io,
        "kbfiltr",
        wdf_safe::entry_point::<kbfiltr::KbFiltr>(),
    ) {
        Ok(built) => built,
        Err(status) => {
            client.check(false, &format!("keyboard stack failed: {status}"));
            return client.finish(&io);
        }
    };
    client.check(
        stack.connect_result().status == NtStatus::SUCCESS && !stack.port_calls_class_directly(),
        "the class driver's connect went down hooked",
    );
    // "wdf": press and release each key, as i8042prt reports them.
    let typed: Vec<_> = [0x11, 0x20, 0x21]
        .into_iter()
        .flat_map(keyboard::key_stroke)
        .collect();
    let consumed = stack.press(&typed);
    client.line(format!(
        "Typed         : w, d, f ({} keystrokes, {} reached the class driver)",
        typed.len(),
        stack.class_received().len()
    ));
    client.check(
        consumed == u32::try_from(typed.len()).ok() && stack.class_received() == typed,
        "every keystroke reached the class driver unchanged",
    );
    match io.open(CONTROL_DEVICE_PATH) {
        Ok(handle) => {
            client.line("Open          : OK");
            let result = handle.device_io_control(
                IOCTL_KBFILTR_GET_KEYSTROKES.code().to_raw(),
                &[],
                KeystrokeReport::SIZE,
            );
            let report = KeystrokeReport::read_from(&result.data);
            client.line(report.map_or_else(
                || format!("Seen          : unavailable ({})", result.status),
                |r| {
                    format!(
                        "Seen          : {} keyboard(s), {} presses, {} releases, last scan code {:#04x}{}",
                        r.keyboards,
                        r.presses,
                        r.releases,
                        r.last_make_code,
                        if r.last_flags & 1 != 0 { " (released)" } else { "" }
                    )
                },
            ));
            client.check(
                report.is_some_and(|r| r.keyboards == 1 && r.presses == 3 && r.releases == 3),
                "the filter saw three presses and three releases",
            );
            let attributes = handle.device_io_control(
                IOCTL_KBFILTR_GET_KEYBOARD_ATTRIBUTES.code().to_raw(),
                &[],
                wdf_safe::keyboard::KEYBOARD_ATTRIBUTES_SIZE,
            );
            let byte = |i: usize| attributes.data.get(i).copied().unwrap_or(0);
            client.line(format!(
                "Keyboard      : type {}, {} function keys, {} indicators, {} keys",
                byte(0),
                byte(4),
                byte(6),
                byte(8)
            ));
            client.check(
                attributes.status == NtStatus::SUCCESS && attributes.data == keyboard::ATTRIBUTES,
                "the filter kept the keyboard's attributes",
            );
            client.check(handle.close() == NtStatus::SUCCESS, "close");
        }
        Err(status) => client.check(false, &format!("open failed: {status}")),
    }
    client.check(
        stack.node().remove() == NtStatus::SUCCESS,
        "remove keyboard",
    );
    client.check(
        io.open(CONTROL_DEVICE_PATH).err() == Some(NtStatus::OBJECT_NAME_NOT_FOUND),
        "the sideband device went with the last keyboard",
    );
    let unloaded = io.unload_driver(driver);
    client.check(unloaded.is_ok(), "unload");
    client.finish(&io)
}
