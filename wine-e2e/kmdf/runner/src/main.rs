//! Runs the samples through wdf-safe's real-KMDF seam (`wdf-safe/src/sys/wdk.rs`, compiled for
//! Windows exactly as a KMDF driver package compiles it) against a stand-in for KMDF's function
//! table (`framework.rs`), under Wine; prints `N passed, M failed`.
//!
//! What it shows: the seam's mechanics work once compiled: DriverEntry, WdfDriverCreate with the
//! unload callback, control-device and FDO creation, the record contexts, queue presentation to
//! the samples' callbacks, buffers, completion, sends below a filter with the completion
//! routine, cleanup and destroy at removal and unload, and handles kept past a removal. What it
//! cannot show: that real KMDF behaves like the stand-in (the host simulation and the Windows
//! workflow cover that from two other sides).
//!
//! `no_std` with its own entry point, like the clients (a Rust std program does not start under
//! Wine 8).
#![no_std]
#![no_main]

extern crate alloc;

mod framework;
mod keeper;
mod parker;

use alloc::format;
use core::sync::atomic::Ordering;

use client_support::println;
use framework::{add_device, cancel, close, delete, outcome_of, send, unload, world};
use wdk_sys::_WDF_REQUEST_TYPE as T;

/// A bump allocator over a static arena: the run is short and frees nothing it needs back.
struct Arena;

const ARENA_SIZE: usize = 16 << 20;
static mut ARENA: [u8; ARENA_SIZE] = [0; ARENA_SIZE];
static NEXT: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

// SAFETY: every block is carved once from the arena, aligned as asked, and never reused.
unsafe impl core::alloc::GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: core::alloc::Layout) -> *mut u8 {
        let base = (&raw mut ARENA).cast::<u8>();
        let mut start = 0;
        let claimed = NEXT.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |next| {
            start = (base as usize + next).next_multiple_of(layout.align()) - base as usize;
            let end = start.checked_add(layout.size())?;
            (end <= ARENA_SIZE).then_some(end)
        });
        match claimed {
            // SAFETY: `start + size` is within the arena.
            Ok(_) => unsafe { base.add(start) },
            Err(_) => core::ptr::null_mut(),
        }
    }

    unsafe fn dealloc(&self, _pointer: *mut u8, _layout: core::alloc::Layout) {}
}

#[global_allocator]
static ALLOCATOR: Arena = Arena;

// `CStr::from_ptr` calls `strlen`; client-support imports the other C routines from ntdll.
#[link(name = "ntdll.dll", kind = "raw-dylib", modifiers = "+verbatim")]
#[allow(
    dead_code,
    reason = "declared for the linker, which resolves the compiler's calls"
)]
unsafe extern "C" {
    fn strlen(s: *const u8) -> usize;
}

struct Checks {
    passed: u32,
    failed: u32,
}

impl Checks {
    fn check(&mut self, what: &str, ok: bool) {
        if ok {
            self.passed += 1;
            println!("PASS - {what}");
        } else {
            self.failed += 1;
            println!("FAIL - {what}");
        }
    }

    /// What the stand-in framework reported since the last call (its verifier).
    fn no_violations(&mut self, after: &str) {
        let violations = core::mem::take(&mut world().violations);
        for violation in &violations {
            println!("    verifier: {violation}");
        }
        self.check(
            &format!("no framework rule broken by {after}"),
            violations.is_empty(),
        );
    }
}

fn traced(text: &str) -> bool {
    world().trace.iter().any(|line| line.contains(text))
}

fn driver_entry<D: wdf_safe::KmdfDriver>() -> i32 {
    world().devices.clear();
    world().trace.clear();
    // SAFETY: called once per driver, as DriverEntry, with the arguments KMDF's FxDriverEntry
    // would pass on (the stand-in framework does not read them).
    unsafe { wdf_safe::__private::driver_entry::<D>(core::ptr::null_mut(), core::ptr::null()) }
}

fn echo(checks: &mut Checks) {
    println!("==> echo (control device)");
    let status = driver_entry::<wdf_safe::io::KmdfBackend<echo::Echo>>();
    checks.check("DriverEntry returns STATUS_SUCCESS", status == 0);
    let Some(&device) = world().devices.first() else {
        checks.check("a control device was created", false);
        return;
    };
    // SAFETY: the stand-in's device object, alive for the run.
    let d = unsafe { &*device };
    let driver = world().driver;
    // SAFETY: as above, for the driver object.
    let (flags, device_add) = unsafe { ((*driver).init_flags, (*driver).device_add) };
    checks.check(
        "a non-PnP driver (WdfDriverInitNonPnpDriver, no EvtDriverDeviceAdd)",
        flags == 1 && device_add.is_none(),
    );
    checks.check(
        "\\Device\\WdkSafeEcho with link \\DosDevices\\WdkSafeEcho, ready",
        d.name.as_deref() == Some(r"\Device\WdkSafeEcho")
            && d.link.as_deref() == Some(r"\DosDevices\WdkSafeEcho")
            && d.ready,
    );
    let r = send(device, T::WdfRequestTypeCreate, 0, &[], 0);
    checks.check(
        "create reaches the driver through its create queue",
        r.status == 0 && traced("IRP_MJ_CREATE"),
    );
    let r = send(
        device,
        T::WdfRequestTypeDeviceControl,
        0x8000_2000,
        &0xDEAD_BEEF_u32.to_le_bytes(),
        4,
    );
    checks.check(
        &format!(
            "IOCTL_ECHO 0xDEADBEEF: status {:#x}, information {}, bytes {:02x?}",
            r.status, r.information, r.data
        ),
        r.status == 0 && r.information == 4 && r.data == 0xDEAD_BEEF_u32.to_le_bytes(),
    );
    let r = send(
        device,
        T::WdfRequestTypeDeviceControl,
        0x8000_2004,
        &[1, 2, 3, 4],
        4,
    );
    checks.check(
        &format!("unknown IOCTL: {:#x}", r.status),
        r.status == 0xC000_0010,
    );
    let r = send(
        device,
        T::WdfRequestTypeDeviceControl,
        0x8000_2000,
        &[1, 2],
        4,
    );
    checks.check(
        &format!("2-byte input: {:#x}", r.status),
        r.status == 0xC000_0023,
    );
    let r = send(device, T::WdfRequestTypeWrite, 0, b"hello", 0);
    checks.check(
        &format!("write: {:#x}, {} bytes", r.status, r.information),
        r.status == 0 && r.information == 5,
    );
    let r = send(device, T::WdfRequestTypeRead, 0, &[], 16);
    checks.check(
        &format!(
            "read returns what was written: {:#x}, {:?}",
            r.status,
            core::str::from_utf8(&r.data)
        ),
        r.status == 0 && r.data == b"hello",
    );
    let r = send(device, T::WdfRequestTypeWrite, 0, &[0; 513], 0);
    checks.check(
        &format!("513-byte write: {:#x}", r.status),
        r.status == 0xC000_0206,
    );
    close(device);
    checks.check("EvtFileClose reaches the driver", traced("IRP_MJ_CLOSE"));
    unload();
    checks.check("EvtDriverUnload reaches the driver", traced("DriverUnload"));
    checks.no_violations("echo");
}

fn null_device(checks: &mut Checks) {
    println!("==> null-device (control device)");
    let status = driver_entry::<wdf_safe::io::KmdfBackend<null_device::NullDevice>>();
    let Some(&device) = world().devices.first() else {
        checks.check("a control device was created", false);
        return;
    };
    // SAFETY: the stand-in's device object, alive for the run.
    let name = unsafe { (*device).name.clone() };
    checks.check(
        "DriverEntry creates \\Device\\WdkSafeNull",
        status == 0 && name.as_deref() == Some(r"\Device\WdkSafeNull"),
    );
    let r = send(device, T::WdfRequestTypeWrite, 0, &[7; 100], 0);
    checks.check(
        &format!(
            "write discarded, all bytes reported: {:#x}, {}",
            r.status, r.information
        ),
        r.status == 0 && r.information == 100,
    );
    let r = send(device, T::WdfRequestTypeRead, 0, &[], 32);
    checks.check(
        &format!("read returns nothing: {:#x}, {}", r.status, r.information),
        r.status == 0 && r.information == 0,
    );
    let r = send(device, T::WdfRequestTypeRead, 0, &[], 0);
    checks.check(
        "zero-length read completed by the framework",
        r.status == 0 && r.information == 0,
    );
    unload();
    checks.no_violations("null-device");
}

fn hid_filter(checks: &mut Checks) {
    println!("==> hid-filter (upper filter)");
    let status = driver_entry::<wdf_safe::io::KmdfBackend<hid_filter::HidFilter>>();
    let status_add = add_device();
    checks.check(
        &format!("DriverEntry {status:#x}, EvtDriverDeviceAdd {status_add:#x}"),
        status == 0 && status_add == 0,
    );
    let Some(&device) = world().devices.first() else {
        checks.check("a filter device was created", false);
        return;
    };
    // SAFETY: the stand-in's device object, alive for the run.
    checks.check("the device is a filter (WdfFdoInitSetFilter)", unsafe {
        (*device).filter
    });
    let r = send(device, T::WdfRequestTypeRead, 0, &[], 8);
    checks.check(
        &format!(
            "a read goes down and its report comes back: {:#x}, {} bytes {:02x?}",
            r.status, r.information, r.data
        ),
        r.status == 0
            && r.information == 8
            && r.data == [0, 0, 4, 0, 0, 0, 0, 0]
            && r.sent == Some("observed"),
    );
    let r = send(
        device,
        T::WdfRequestTypeDeviceControlInternal,
        0x000B_0003,
        &[],
        0,
    );
    checks.check(
        "an internal IOCTL goes down with a completion routine",
        r.status == 0 && r.sent == Some("observed"),
    );
    let r = send(device, T::WdfRequestTypeDeviceControl, 0x000B_0008, &[], 0);
    checks.check(
        "a device control goes down send-and-forget",
        r.status == 0 && r.sent == Some("forget"),
    );
    checks.check(
        "the completion routine saw the read's 8 bytes",
        traced("Read completed below: STATUS_SUCCESS, 8 bytes"),
    );
    unload();
    checks.check(
        "unload reports 1 read, 1 internal IOCTL, 2 completions",
        traced("saw 1 reads, 1 internal IOCTLs, 2 completions"),
    );
    checks.no_violations("hid-filter");
}

fn kept_handle(checks: &mut Checks) {
    println!("==> a device handle kept past removal");
    let status = driver_entry::<keeper::Keeper>();
    let status_add = add_device();
    let kept = *keeper::KEPT.lock();
    let Some(kept) = kept.filter(|_| status == 0 && status_add == 0) else {
        checks.check("the driver loads and keeps its device", false);
        return;
    };
    checks.check(
        "the context is found while the device lives",
        kept.context::<keeper::Answer>().map(|a| a.0) == Some(42),
    );
    let Some(&device) = world().devices.first() else {
        return;
    };
    delete(device);
    checks.check(
        "removal runs the device's and the context's cleanup, once each",
        keeper::CLEANUPS.load(Ordering::SeqCst) == 2,
    );
    let after = kept.create_queue(wdf_safe::QueueConfig::<
        wdf_safe::kind::Manual,
        keeper::Keeper,
    >::manual());
    checks.check(
        &format!(
            "a queue on the removed device fails cleanly: {:?}",
            after.err()
        ),
        after.err() == Some(wdf_safe::NtStatus::INVALID_DEVICE_STATE),
    );
    checks.check(
        "the context stays readable until unload",
        kept.context::<keeper::Answer>().map(|a| a.0) == Some(42),
    );
    *keeper::KEPT.lock() = None;
    unload();
    checks.no_violations("the keeper");
}

fn parked_reads(checks: &mut Checks) {
    println!("==> reads parked in a manual queue, retrieved, cancelable, cancelled");
    let status = driver_entry::<parker::Parker>();
    let Some(&device) = world().devices.first().filter(|_| status == 0) else {
        checks.check("the driver loads", false);
        return;
    };
    let waiting = |checks: &mut Checks, expected: u32| {
        let r = send(device, T::WdfRequestTypeDeviceControl, 3, &[], 4);
        checks.check(
            &format!(
                "{expected} read(s) wait in the manual queue ({:02x?})",
                r.data
            ),
            r.status == 0 && r.data == expected.to_le_bytes(),
        );
    };
    let first = send(device, T::WdfRequestTypeRead, 0, &[], 8);
    let second = send(device, T::WdfRequestTypeRead, 0, &[], 8);
    checks.check(
        "reads forwarded to the manual queue stay pending",
        first.status == 0x103 && second.status == 0x103,
    );
    waiting(checks, 2);
    let r = send(device, T::WdfRequestTypeDeviceControl, 1, &[], 0);
    checks.check(
        &format!(
            "the oldest read, retrieved, completes with 3 bytes: {:?}",
            outcome_of(first.request)
        ),
        r.status == 0 && outcome_of(first.request) == Some((0, 3, b"abc".to_vec())),
    );
    waiting(checks, 1);
    let r = send(device, T::WdfRequestTypeDeviceControl, 2, &[], 0);
    checks.check(
        "the next read is retrieved, marked cancelable and parked",
        r.status == 0 && outcome_of(second.request).is_none(),
    );
    checks.check(
        "the sender cancels it: the cancel routine runs",
        cancel(second.request),
    );
    checks.check(
        &format!(
            "and completes it with STATUS_CANCELLED: {:?}",
            outcome_of(second.request)
        ),
        outcome_of(second.request) == Some((0xC000_0120, 0, alloc::vec::Vec::new())),
    );
    waiting(checks, 0);
    let r = send(device, T::WdfRequestTypeDeviceControl, 1, &[], 0);
    checks.check(
        &format!("nothing left to retrieve: {:#x}", r.status),
        r.status == 0x8000_001A,
    );
    unload();
    checks.no_violations("the parker");
}

/// The entry point.
#[unsafe(no_mangle)]
pub extern "C" fn mainCRTStartup() -> ! {
    framework::install();
    let mut checks = Checks {
        passed: 0,
        failed: 0,
    };
    echo(&mut checks);
    null_device(&mut checks);
    hid_filter(&mut checks);
    kept_handle(&mut checks);
    parked_reads(&mut checks);
    println!("{} passed, {} failed", checks.passed, checks.failed);
    client_support::exit(u32::from(checks.failed != 0))
}
