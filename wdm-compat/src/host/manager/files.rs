//! File objects: a handle's `IRP_MJ_CLEANUP` when it is closed, and its `IRP_MJ_CLOSE` when the
//! file object's last reference goes — after the IRPs sent through it have completed.

use std::vec::Vec;

use super::{IoManager, IrpSpec, Transfer};
use crate::host::{DeviceId, FileObject, IrpId, major};
use crate::status::NtStatus;
use crate::sys::{Mode, Params};

impl IoManager {
    /// A new file object, for a handle being opened.
    pub(in crate::host) fn new_file_object(&self) -> FileObject {
        self.with_world(|w| {
            w.next_file += 1;
            FileObject(w.next_file)
        })
    }

    /// An IRP about a file object only: create, cleanup, close.
    pub(in crate::host) fn file_irp(major: u8) -> IrpSpec {
        IrpSpec {
            major,
            minor: 0,
            params: Params::Other,
            mode: Mode::User,
            system: Vec::new(),
            mdl: Vec::new(),
            transfer: Transfer::None,
            user_output: Vec::new(),
            user_addresses: (0, 0),
            initial_status: NtStatus::SUCCESS,
        }
    }

    /// `IRP_MJ_CLOSE` for `file`, an open of `opened`: the device's open count drops with it.
    pub(in crate::host) fn send_close(&self, opened: DeviceId, file: FileObject) -> NtStatus {
        let top = self.top_of_stack(opened);
        let status = if self.device_usable(top) {
            self.send_sync_for(top, Self::file_irp(major::CLOSE), Some(file))
                .status
        } else {
            NtStatus::SUCCESS
        };
        self.count_open(opened, -1);
        status
    }

    /// Remembers a closed handle whose close waits for `outstanding`.
    pub(in crate::host) fn defer_close(
        &self,
        opened: DeviceId,
        file: FileObject,
        outstanding: Vec<IrpId>,
    ) {
        self.with_world(|w| w.deferred_closes.push((opened, file, outstanding)));
    }

    /// Sends the deferred closes whose IRPs have all completed (called as a user-side call
    /// ends, never inside driver code).
    pub(in crate::host) fn send_due_closes(&self) {
        let pending = self.with_world(|w| core::mem::take(&mut w.deferred_closes));
        if pending.is_empty() {
            return;
        }
        let (due, waiting): (Vec<_>, Vec<_>) = pending
            .into_iter()
            .partition(|(_, _, irps)| irps.iter().all(|irp| self.is_completed(*irp)));
        self.with_world(|w| w.deferred_closes.extend(waiting));
        for (opened, file, _) in due {
            let _ = self.send_close(opened, file);
        }
    }
}
