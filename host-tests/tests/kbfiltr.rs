//! The kbfiltr sample on the simulated keyboard class stack: the connect hooked, every
//! keystroke seen on its way to the class driver, the sideband device's report and lifetime.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use host_tests::keyboard::{self, KeyboardClassStack};
use kbfiltr::{
    CONTROL_DEVICE_PATH, IOCTL_KBFILTR_GET_KEYBOARD_ATTRIBUTES, IOCTL_KBFILTR_GET_KEYSTROKES,
    KbFiltr, KeystrokeReport,
};
use kmdf_sim::keyboard::{IOCTL_INTERNAL_KEYBOARD_CONNECT, IOCTL_INTERNAL_KEYBOARD_DISCONNECT};
use wdm_compat::IoBuffer;
use wdm_compat::NtStatus;
use wdm_compat::host::{DriverId, IoManager};

fn load() -> (IoManager, KeyboardClassStack, DriverId) {
    let io = IoManager::new();
    let (stack, filter) =
        KeyboardClassStack::build(&io, "kbfiltr", wdf_safe::entry_point::<KbFiltr>()).unwrap();
    (io, stack, filter)
}

fn report(io: &IoManager) -> Result<KeystrokeReport, NtStatus> {
    let handle = io.open(CONTROL_DEVICE_PATH)?;
    let result = handle.device_io_control(
        IOCTL_KBFILTR_GET_KEYSTROKES.code().to_raw(),
        &[],
        KeystrokeReport::SIZE,
    );
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(result.status, NtStatus::SUCCESS);
    Ok(KeystrokeReport::read_from(&result.data).unwrap())
}

#[test]
fn the_port_calls_the_filter_which_passes_every_keystroke_to_the_class_driver() {
    let (io, stack, _filter) = load();
    assert_eq!(stack.connect_result().status, NtStatus::SUCCESS);
    assert!(
        !stack.port_calls_class_directly(),
        "the connect was not hooked"
    );
    let a = keyboard::key_stroke(keyboard::SCAN_A);
    assert_eq!(stack.press(&a), Some(2));
    let b = keyboard::key_stroke(0x30);
    assert_eq!(stack.press(&b[..1]), Some(1));
    // The class driver got them all, unchanged, in order.
    assert_eq!(stack.class_received(), [a[0], a[1], b[0]]);
    assert_eq!(
        report(&io),
        Ok(KeystrokeReport {
            keyboards: 1,
            presses: 2,
            releases: 1,
            last_make_code: 0x30,
            last_flags: 0,
        })
    );
    let trace = io.trace();
    let hooked = trace.iter().position(|l| l == "[kbfiltr] connect hooked");
    let first = trace.iter().position(|l| {
        l == "[kbfiltr] 2 keystrokes passed to the class driver (2 on this keyboard)"
    });
    let second = trace.iter().position(|l| {
        l == "[kbfiltr] 1 keystrokes passed to the class driver (3 on this keyboard)"
    });
    assert!(
        hooked.is_some() && hooked < first && first < second,
        "{trace:#?}"
    );
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn a_second_connect_is_a_sharing_violation_and_a_disconnect_is_not_implemented() {
    let (io, stack, _filter) = load();
    let again = stack.class_sends(IOCTL_INTERNAL_KEYBOARD_CONNECT);
    assert_eq!(again.status, NtStatus::SHARING_VIOLATION);
    let disconnect = stack.class_sends(IOCTL_INTERNAL_KEYBOARD_DISCONNECT);
    assert_eq!(disconnect.status, NtStatus::NOT_IMPLEMENTED);
    // Still hooked: keystrokes still pass through the filter.
    assert_eq!(
        stack.press(&keyboard::key_stroke(keyboard::SCAN_A)),
        Some(2)
    );
    assert_eq!(report(&io).unwrap().presses, 1);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn a_keystroke_costs_the_filter_two_framework_calls() {
    let (io, stack, _filter) = load();
    let before = kmdf_sim::framework_calls(&io);
    assert_eq!(
        stack.press(&keyboard::key_stroke(keyboard::SCAN_A)),
        Some(2)
    );
    // WdfWdmDeviceGetWdfDeviceHandle, and the record's context lookup
    // (WdfObjectGetTypedContextWorker); the class driver is called directly.
    assert_eq!(kmdf_sim::framework_calls(&io) - before, 2);
}

#[test]
fn the_sideband_device_goes_with_the_last_keyboard() {
    let (io, stack, filter) = load();
    assert_eq!(report(&io).unwrap().keyboards, 1);
    assert_eq!(stack.node().remove(), NtStatus::SUCCESS);
    assert_eq!(report(&io), Err(NtStatus::OBJECT_NAME_NOT_FOUND));
    io.unload_driver(filter).unwrap();
    let trace = io.trace();
    assert!(
        trace
            .iter()
            .any(|l| l == "[kbfiltr] sideband device deleted"),
        "{trace:#?}"
    );
    assert_eq!(
        trace.last().map(String::as_str),
        Some("[kbfiltr] DriverUnload -- 0 presses, 0 releases seen")
    );
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn run_sample_kbfiltr_passes_and_shows_the_hook() {
    let outcome = host_tests::scenario::kbfiltr();
    assert!(outcome.passed, "{outcome:#?}");
    assert!(
        outcome
            .client
            .iter()
            .any(|l| l == "Seen          : 1 keyboard(s), 3 presses, 3 releases, last scan code 0x21 (released)"),
        "{:#?}",
        outcome.client
    );
    for line in [
        "[kbfiltr] connect hooked",
        "[kbfiltr] 6 keystrokes passed to the class driver (6 on this keyboard)",
        "[kbfiltr] sideband device deleted",
    ] {
        assert!(
            outcome.trace.iter().any(|l| l == line),
            "{line}: {:#?}",
            outcome.trace
        );
    }
}

/// A filter that names another driver's type when it hooks the connect (safe code can): the
/// crate's hooked callback would read this driver's device record and value as that type.
struct Confused;

impl wdf_safe::KmdfDriver for Confused {
    const PNP: bool = true;

    fn driver_entry(
        _driver: &mut wdf_safe::DriverContext<'_, '_, Self>,
    ) -> wdf_safe::NtResult<Self> {
        Ok(Self)
    }

    fn device_add(&self, mut init: wdf_safe::FdoInit<'_, Self>) -> wdf_safe::NtResult<()> {
        init.set_filter();
        let device = init.create().map_err(|(_, status)| status)?;
        let _queue = device.create_default_queue(
            wdf_safe::QueueConfig::parallel().on_internal_device_control(|_driver, request| {
                match request.hook_keyboard_connect::<KbFiltr>() {
                    Ok(done) => done,
                    Err((request, status)) => request.complete(status),
                }
            }),
        )?;
        Ok(())
    }
}

#[test]
fn a_connect_hooked_for_another_driver_type_is_refused() {
    let io = IoManager::new();
    let (stack, _filter) =
        KeyboardClassStack::build(&io, "confused", wdf_safe::entry_point::<Confused>()).unwrap();
    assert_eq!(
        stack.connect_result().status,
        NtStatus::INVALID_DEVICE_REQUEST
    );
    // Nothing reached the port: no keystroke can be delivered.
    assert_eq!(stack.press(&keyboard::key_stroke(keyboard::SCAN_A)), None);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn the_attributes_query_goes_through_and_the_sideband_device_returns_what_it_answered() {
    let (io, stack, _filter) = load();
    // The class driver got the port driver's answer, unchanged.
    let answered = stack.attributes_result();
    assert_eq!(answered.status, NtStatus::SUCCESS);
    assert_eq!(answered.data, keyboard::ATTRIBUTES);
    // The filter kept it on the way up.
    let handle = io.open(CONTROL_DEVICE_PATH).unwrap();
    let kept = handle.device_io_control(
        IOCTL_KBFILTR_GET_KEYBOARD_ATTRIBUTES.code().to_raw(),
        &[],
        keyboard::ATTRIBUTES.len(),
    );
    assert_eq!(kept.status, NtStatus::SUCCESS);
    assert_eq!(kept.data, keyboard::ATTRIBUTES);
    // Too small a buffer is refused, as the C sample's STATUS_BUFFER_TOO_SMALL.
    let short = handle.device_io_control(
        IOCTL_KBFILTR_GET_KEYBOARD_ATTRIBUTES.code().to_raw(),
        &[],
        4,
    );
    assert_eq!(short.status, NtStatus::BUFFER_TOO_SMALL);
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert!(
        io.trace()
            .iter()
            .any(|l| l == "[kbfiltr] keyboard attributes kept"),
        "{:#?}",
        io.trace()
    );
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}
