//! `IoCreateDeviceSecure` with `SDDL_DEVOBJ_SYS_ALL_ADM_ALL`, done with ntoskrnl's own exports:
//! the real routine lives in wdmsec.lib, a static library a WDK-less build cannot link, and it
//! parses SDDL, which a fixed descriptor does not need. The descriptor is built in place: a DACL
//! granting `GENERIC_ALL` to LocalSystem (S-1-5-18) and to the Administrators alias
//! (S-1-5-32-544), protected from inheritance, and set on the device object through a kernel
//! handle to it (`ObOpenObjectByPointer` + `ZwSetSecurityObject`, as wdmsec does).
//!
//! These routines are in ntifs.h, not in the wdm.h/ntddk.h wdk-sys binds, so both builds import
//! them from `ntoskrnl.exe` by name.

use core::ffi::c_void;
use core::ptr;

use super::DeviceObject;
use crate::status::NtStatus as Status;

#[link(name = "ntoskrnl.exe", kind = "raw-dylib", modifiers = "+verbatim")]
unsafe extern "system" {
    fn RtlCreateSecurityDescriptor(descriptor: *mut c_void, revision: u32) -> i32;
    fn RtlCreateAcl(acl: *mut c_void, length: u32, revision: u32) -> i32;
    fn RtlAddAccessAllowedAce(
        acl: *mut c_void,
        revision: u32,
        mask: u32,
        sid: *const c_void,
    ) -> i32;
    fn RtlSetDaclSecurityDescriptor(
        descriptor: *mut c_void,
        present: u8,
        dacl: *mut c_void,
        defaulted: u8,
    ) -> i32;
    fn ObOpenObjectByPointer(
        object: *mut c_void,
        attributes: u32,
        access_state: *mut c_void,
        desired_access: u32,
        object_type: *mut c_void,
        access_mode: i8,
        handle: *mut *mut c_void,
    ) -> i32;
    fn ZwSetSecurityObject(handle: *mut c_void, information: u32, descriptor: *mut c_void) -> i32;
    fn ZwClose(handle: *mut c_void) -> i32;
}

/// `SECURITY_DESCRIPTOR_REVISION`.
const SECURITY_DESCRIPTOR_REVISION: u32 = 1;
/// `ACL_REVISION`.
const ACL_REVISION: u32 = 2;
/// `GENERIC_ALL`.
const GENERIC_ALL: u32 = 0x1000_0000;
/// `WRITE_DAC`.
const WRITE_DAC: u32 = 0x0004_0000;
/// `OBJ_KERNEL_HANDLE`.
const OBJ_KERNEL_HANDLE: u32 = 0x0000_0200;
/// `DACL_SECURITY_INFORMATION`.
const DACL_SECURITY_INFORMATION: u32 = 0x4;
/// `PROTECTED_DACL_SECURITY_INFORMATION`: the `P` of `D:P`.
const PROTECTED_DACL_SECURITY_INFORMATION: u32 = 0x8000_0000;

/// A `SID` with `N` sub-authorities, in the NT authority (5), as the kernel lays it out.
#[repr(C, align(4))]
struct Sid<const N: usize> {
    revision: u8,
    sub_authority_count: u8,
    identifier_authority: [u8; 6],
    sub_authority: [u32; N],
}

/// LocalSystem, `S-1-5-18`.
static LOCAL_SYSTEM: Sid<1> = Sid {
    revision: 1,
    sub_authority_count: 1,
    identifier_authority: [0, 0, 0, 0, 0, 5],
    sub_authority: [18],
};

/// BUILTIN\Administrators, `S-1-5-32-544`.
static ADMINISTRATORS: Sid<2> = Sid {
    revision: 1,
    sub_authority_count: 2,
    identifier_authority: [0, 0, 0, 0, 0, 5],
    sub_authority: [32, 544],
};

/// The DACL's room: the `ACL` header (8 bytes) and two `ACCESS_ALLOWED_ACE`s (8 bytes before the
/// SID each), the SIDs 12 and 16 bytes long.
const ACL_BYTES: usize = 8 + (8 + 12) + (8 + 16);

/// An absolute `SECURITY_DESCRIPTOR` (revision, control, then four pointers) and its DACL, in
/// one place that outlives the call that sets it.
#[repr(C, align(8))]
struct Descriptor {
    header: [usize; 5],
    acl: [u32; ACL_BYTES / 4],
}

fn check(status: i32) -> Result<(), Status> {
    Status::from_raw(status).ok()
}

/// Gives `device` the descriptor of `SDDL_DEVOBJ_SYS_ALL_ADM_ALL`.
pub(super) fn restrict_to_system_and_administrators(
    device: *mut DeviceObject,
) -> Result<(), Status> {
    let mut descriptor = Descriptor {
        header: [0; 5],
        acl: [0; ACL_BYTES / 4],
    };
    let sd = (&raw mut descriptor.header).cast::<c_void>();
    let acl = (&raw mut descriptor.acl).cast::<c_void>();
    // SAFETY: `sd` is 40 zeroed bytes, 8-aligned: an absolute descriptor's size on x64.
    check(unsafe { RtlCreateSecurityDescriptor(sd, SECURITY_DESCRIPTOR_REVISION) })?;
    #[expect(clippy::cast_possible_truncation, reason = "52 bytes")]
    // SAFETY: `acl` is `ACL_BYTES` bytes, 4-aligned, for both ACEs.
    check(unsafe { RtlCreateAcl(acl, ACL_BYTES as u32, ACL_REVISION) })?;
    // SAFETY: the ACL was just initialised with room for both ACEs; the SIDs are well formed
    // constants that outlive the calls (the ACE copies them).
    unsafe {
        check(RtlAddAccessAllowedAce(
            acl,
            ACL_REVISION,
            GENERIC_ALL,
            (&raw const LOCAL_SYSTEM).cast(),
        ))?;
        check(RtlAddAccessAllowedAce(
            acl,
            ACL_REVISION,
            GENERIC_ALL,
            (&raw const ADMINISTRATORS).cast(),
        ))?;
    }
    // SAFETY: both live in `descriptor`, which outlives the setting below.
    check(unsafe { RtlSetDaclSecurityDescriptor(sd, 1, acl, 0) })?;
    let mut handle = ptr::null_mut();
    // SAFETY: `device` is a device object this driver just created; a kernel handle (not in
    // any process's table) with only WRITE_DAC; no object type check; kernel mode.
    check(unsafe {
        ObOpenObjectByPointer(
            device.cast(),
            OBJ_KERNEL_HANDLE,
            ptr::null_mut(),
            WRITE_DAC,
            ptr::null_mut(),
            0,
            &raw mut handle,
        )
    })?;
    // SAFETY: `handle` is the kernel handle opened above; the descriptor is valid and absolute.
    let set = check(unsafe {
        ZwSetSecurityObject(
            handle,
            DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
            sd,
        )
    });
    // SAFETY: closes the handle opened above, once.
    let _ = unsafe { ZwClose(handle) };
    set
}
