//! Who may open a device, and what a handle may send: the caller's identity and the access it
//! asks for, checked against the device object's security descriptor at `CreateFile`, and the
//! required-access bits of an IOCTL code (and read/write access) checked against the handle, as
//! the I/O manager does (`IopParseDevice`, `NtDeviceIoControlFile`), before any driver sees
//! the request.
//!
//! Simplified: a security descriptor is its DACL in the SDDL form `IoCreateDeviceSecure` and
//! `WdfDeviceInitAssignSDDLString` take — `D:P` then `(A;;rights;;;trustee)` entries, rights
//! from `GA GR GW GX`, trustees `SY BA WD RC` (what the `SDDL_DEVOBJ_*` strings of wdmsec.h
//! use); a caller is an administrator (an elevated process) or a standard user, both members of
//! Everyone, and never SYSTEM or restricted.

use std::vec;
use std::vec::Vec;

use crate::status::NtStatus;

/// What a handle is opened for (`GENERIC_READ` / `GENERIC_WRITE` of `CreateFile`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    /// `GENERIC_READ`.
    pub read: bool,
    /// `GENERIC_WRITE`.
    pub write: bool,
}

impl Access {
    /// Read and write: what the samples' clients ask for.
    pub const READ_WRITE: Self = Self {
        read: true,
        write: true,
    };
    /// Read only.
    pub const READ: Self = Self {
        read: true,
        write: false,
    };
    /// Write only.
    pub const WRITE: Self = Self {
        read: false,
        write: true,
    };

    /// Whether everything `self` asks for is in `granted`.
    const fn within(self, granted: Self) -> bool {
        (!self.read || granted.read) && (!self.write || granted.write)
    }

    const fn union(self, other: Self) -> Self {
        Self {
            read: self.read || other.read,
            write: self.write || other.write,
        }
    }

    /// Whether a handle with this access may send an IOCTL whose code asks for `required`
    /// (bits 15–14: `FILE_READ_ACCESS` 1, `FILE_WRITE_ACCESS` 2).
    pub(crate) const fn allows_ioctl(self, code: u32) -> bool {
        let required = (code >> 14) & 3;
        (required & 1 == 0 || self.read) && (required & 2 == 0 || self.write)
    }
}

/// Who calls `CreateFile`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// An elevated process: a member of Administrators (`BA`) and Everyone (`WD`).
    Administrator,
    /// A standard user's process: a member of Everyone (`WD`) only.
    User,
}

/// How [`IoManager::open_with`](crate::host::IoManager::open_with) opens a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenOptions {
    /// Who opens.
    pub caller: Caller,
    /// What for.
    pub access: Access,
}

impl OpenOptions {
    /// An administrator asking for read and write access (what [`IoManager::open`] does).
    ///
    /// [`IoManager::open`]: crate::host::IoManager::open
    pub const ADMINISTRATOR: Self = Self {
        caller: Caller::Administrator,
        access: Access::READ_WRITE,
    };

    /// A standard user asking for read and write access.
    pub const USER: Self = Self {
        caller: Caller::User,
        access: Access::READ_WRITE,
    };

    /// The same caller, asking for `access`.
    #[must_use]
    pub const fn access(self, access: Access) -> Self {
        Self {
            caller: self.caller,
            access,
        }
    }
}

/// The security `IoCreateDevice` gives a device object without any of its own (the
/// `SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_RWX_RES_RX` DACL): everyone may read and write.
#[cfg(test)]
const DEFAULT_SDDL: &str = "D:P(A;;GA;;;SY)(A;;GRGWGX;;;BA)(A;;GRGWGX;;;WD)(A;;GRGX;;;RC)";

/// A trustee of an access-allowed entry, as far as a user-mode caller can be one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trustee {
    Administrators,
    Everyone,
    /// `SY`, `RC` and any other SID: never one of the simulation's callers.
    Other,
}

/// A device object's DACL: the access each trustee is allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Dacl(Vec<(Trustee, Access)>);

impl Dacl {
    /// What `IoCreateDevice` gives a device object without security of its own: the DACL of
    /// [`DEFAULT_SDDL`].
    pub(crate) fn io_create_device_default() -> Self {
        Self(vec![
            (Trustee::Other, Access::READ_WRITE),
            (Trustee::Administrators, Access::READ_WRITE),
            (Trustee::Everyone, Access::READ_WRITE),
            (Trustee::Other, Access::READ),
        ])
    }

    /// Parses the DACL of an SDDL string (`D:P(A;;GA;;;SY)...`).
    ///
    /// # Errors
    ///
    /// `STATUS_INVALID_PARAMETER` for anything else than access-allowed entries with the
    /// generic rights `GA GR GW GX`, as `IoCreateDeviceSecure` refuses a string it cannot
    /// parse.
    pub(crate) fn parse(sddl: &str) -> Result<Self, NtStatus> {
        let entries = sddl
            .strip_prefix("D:P")
            .ok_or(NtStatus::INVALID_PARAMETER)?;
        let mut dacl = Vec::new();
        for entry in entries.split_terminator(')') {
            let fields: Vec<&str> = entry
                .strip_prefix('(')
                .ok_or(NtStatus::INVALID_PARAMETER)?
                .split(';')
                .collect();
            let [kind, "", rights, "", "", trustee] = fields.as_slice() else {
                return Err(NtStatus::INVALID_PARAMETER);
            };
            if *kind != "A" {
                return Err(NtStatus::INVALID_PARAMETER);
            }
            dacl.push((parse_trustee(trustee), parse_rights(rights)?));
        }
        Ok(Self(dacl))
    }

    /// The access `caller` is granted (the union of the entries it is a member of).
    pub(crate) fn granted(&self, caller: Caller) -> Access {
        let none = Access {
            read: false,
            write: false,
        };
        self.0
            .iter()
            .filter(|(trustee, _)| match trustee {
                Trustee::Everyone => true,
                Trustee::Administrators => caller == Caller::Administrator,
                Trustee::Other => false,
            })
            .fold(none, |granted, (_, access)| granted.union(*access))
    }

    /// Whether `options` may open a device with this DACL.
    pub(crate) fn admits(&self, options: OpenOptions) -> bool {
        options.access.within(self.granted(options.caller))
    }
}

fn parse_trustee(trustee: &str) -> Trustee {
    match trustee {
        "BA" => Trustee::Administrators,
        "WD" => Trustee::Everyone,
        _ => Trustee::Other,
    }
}

/// `GA`, or any of `GR GW GX` run together.
fn parse_rights(rights: &str) -> Result<Access, NtStatus> {
    if rights == "GA" {
        return Ok(Access::READ_WRITE);
    }
    let mut access = Access {
        read: false,
        write: false,
    };
    let mut rest = rights;
    while !rest.is_empty() {
        let (token, tail) = rest
            .split_at_checked(2)
            .ok_or(NtStatus::INVALID_PARAMETER)?;
        match token {
            "GR" => access.read = true,
            "GW" => access.write = true,
            "GX" => {}
            _ => return Err(NtStatus::INVALID_PARAMETER),
        }
        rest = tail;
    }
    Ok(access)
}

#[cfg(test)]
mod tests {
    use std::vec::Vec;

    use super::{Access, Caller, DEFAULT_SDDL, Dacl};

    #[test]
    fn the_wdmsec_strings_grant_what_their_names_say() {
        let admin_only = Dacl::parse("D:P(A;;GA;;;SY)(A;;GA;;;BA)").unwrap_or(Dacl(Vec::new()));
        assert_eq!(
            admin_only.granted(Caller::Administrator),
            Access::READ_WRITE
        );
        assert_eq!(
            admin_only.granted(Caller::User),
            Access {
                read: false,
                write: false
            }
        );
        let world_read =
            Dacl::parse("D:P(A;;GA;;;SY)(A;;GRGWGX;;;BA)(A;;GR;;;WD)").unwrap_or(Dacl(Vec::new()));
        assert_eq!(world_read.granted(Caller::User), Access::READ);
        let default = Dacl::parse(DEFAULT_SDDL).unwrap_or(Dacl(Vec::new()));
        assert_eq!(default, Dacl::io_create_device_default());
        assert_eq!(default.granted(Caller::User), Access::READ_WRITE);
        assert!(Dacl::parse("D:P(A;;FA;;;BA)").is_err());
        assert!(Dacl::parse("O:BA").is_err());
    }

    #[test]
    fn ioctl_access_bits_need_the_matching_handle_access() {
        let any = 0x0022_0000;
        let read = any | (1 << 14);
        let write = any | (2 << 14);
        assert!(Access::READ.allows_ioctl(any));
        assert!(Access::READ.allows_ioctl(read));
        assert!(!Access::READ.allows_ioctl(write));
        assert!(!Access::WRITE.allows_ioctl(read | write));
        assert!(Access::READ_WRITE.allows_ioctl(read | write));
    }
}
