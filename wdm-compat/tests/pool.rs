//! Tagged pool blocks (`wdm_compat::pool`) in driver code under the host simulation: counted
//! per driver and tag while they live, a driver that unloads with one outstanding is Driver
//! Verifier's bug check 0xC4/0x62 naming the tag, a paged allocation above APC_LEVEL is refused
//! and reported, and the low-resources simulation makes an allocation fail (the value comes
//! back).
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::Mutex;

use wdm_compat::NtStatus;
use wdm_compat::host::{IoManager, ScriptedDriver, major};
use wdm_compat::pool::{PagedBox, PoolBox, PoolTag};

const TAG: PoolTag = PoolTag::new(*b"Tst1");

/// Blocks the driver keeps between calls (its state, as a device extension would hold them).
static KEPT: Mutex<Vec<PoolBox<[u64; 4]>>> = Mutex::new(Vec::new());
/// The driver's device.
static DEVICE: Mutex<Option<wdm_compat::host::DeviceId>> = Mutex::new(None);

/// A driver that allocates a tagged block per write and frees one per read.
fn driver() -> ScriptedDriver {
    ScriptedDriver::new()
        .on_entry(|k| {
            *DEVICE.lock().unwrap() = Some(
                k.create_device(Some(r"\Device\PoolUser"), 0x22, false)
                    .unwrap(),
            );
            NtStatus::SUCCESS
        })
        .succeeding(&[major::CREATE, major::CLEANUP, major::CLOSE])
        .on(major::WRITE, |k, _device, irp| {
            let status = match PoolBox::try_new([7; 4], TAG) {
                Ok(block) => {
                    assert_eq!(block.tag(), TAG);
                    KEPT.lock().unwrap().push(block);
                    NtStatus::SUCCESS
                }
                Err(_value) => NtStatus::INSUFFICIENT_RESOURCES,
            };
            k.complete(irp, status, 0);
            status
        })
        .on(major::READ, |k, _device, irp| {
            drop(KEPT.lock().unwrap().pop());
            // Paged pool: usable at PASSIVE_LEVEL, refused at DISPATCH_LEVEL.
            let mut paged = PagedBox::try_new(1u8, TAG).unwrap();
            let one = paged.read().unwrap();
            paged.write(one + 1).unwrap();
            let old = k.raise_irql(2);
            let refused = PagedBox::try_new(1u8, TAG).is_err()
                && paged.read().is_none()
                && paged.write(9) == Err(9);
            k.lower_irql(old);
            let status = if refused && paged.read() == Some(2) {
                NtStatus::SUCCESS
            } else {
                NtStatus::UNSUCCESSFUL
            };
            drop(paged);
            k.complete(irp, status, 0);
            status
        })
        .on_unload(|k| {
            if let Some(device) = DEVICE.lock().unwrap().take() {
                k.delete_device(device);
            }
        })
}

#[test]
fn tagged_blocks_are_counted_freed_refused_and_a_leak_is_reported_at_unload() {
    let io = IoManager::new();
    io.set_strict(false);
    let id = io.load_driver("pooluser", driver()).unwrap();
    let handle = io.open(r"\Device\PoolUser").unwrap();
    assert_eq!(handle.write(b"a").status, NtStatus::SUCCESS);
    assert_eq!(handle.write(b"b").status, NtStatus::SUCCESS);
    assert_eq!(io.pool_in_use(id), [(TAG, 2, 64)]);
    // The low-resources simulation refuses the next allocation: the driver says so.
    io.fail_allocation(0);
    assert_eq!(handle.write(b"c").status, NtStatus::INSUFFICIENT_RESOURCES);
    // A read frees one block and tries paged pool at DISPATCH_LEVEL.
    assert_eq!(handle.read(0).status, NtStatus::SUCCESS);
    assert_eq!(io.pool_in_use(id), [(TAG, 1, 32)]);
    // The paged allocation, the read and the write at DISPATCH_LEVEL.
    let rules: Vec<_> = io.take_violations().iter().filter_map(|v| v.rule).collect();
    assert_eq!(
        rules,
        [
            "IrqlExAllocatePool",
            "IrqlExAllocatePool",
            "IrqlExAllocatePool"
        ]
    );
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    // One block is still kept when the driver unloads.
    io.unload_driver(id).unwrap();
    let leaks: Vec<_> = io
        .take_violations()
        .into_iter()
        .filter(|v| {
            v.bug_check
                .is_some_and(|b| b.code == 0xC4 && b.subcode() == 0x62)
        })
        .collect();
    assert_eq!(leaks.len(), 1, "{leaks:#?}");
    assert!(
        leaks[0].message.contains("'Tst1': 1 block(s), 32 bytes"),
        "{leaks:#?}"
    );
    KEPT.lock().unwrap().clear();
}
