//! The vocabulary the seam and the typed layer share: plain data the framework calls take and
//! return. The typed layer re-exports the public ones where a driver author looks for them
//! ([`crate::kind`], [`crate::device`], [`crate::context`]).

use core::fmt;

use wdm_compat::IoType;

/// `FILE_DEVICE_SECURE_OPEN`.
pub const FILE_DEVICE_SECURE_OPEN: u32 = 0x0000_0100;

/// `WDF_REQUEST_TYPE`: the request types a queue can be dedicated to
/// (`WdfDeviceConfigureRequestDispatching`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestType {
    /// `WdfRequestTypeCreate`.
    Create,
    /// `WdfRequestTypeRead`.
    Read,
    /// `WdfRequestTypeWrite`.
    Write,
    /// `WdfRequestTypeDeviceControl`.
    DeviceControl,
    /// `WdfRequestTypeDeviceControlInternal`.
    InternalDeviceControl,
}

impl RequestType {
    /// Every request type a queue can present.
    #[cfg_attr(
        not(any(feature = "host", all(feature = "wdk", target_os = "windows"))),
        allow(dead_code, reason = "only a framework backend asks")
    )]
    pub(crate) const ALL: [Self; 5] = [
        Self::Create,
        Self::Read,
        Self::Write,
        Self::DeviceControl,
        Self::InternalDeviceControl,
    ];
}

/// `WDF_IO_QUEUE_DISPATCH_TYPE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DispatchType {
    /// `WdfIoQueueDispatchSequential`.
    Sequential,
    /// `WdfIoQueueDispatchParallel`.
    Parallel,
    /// `WdfIoQueueDispatchManual`.
    Manual,
}

/// The settings a device init collected (`WdfDeviceInitSet*`), as the device keeps them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InitSettings {
    /// `WdfDeviceInitSetIoType` (default [`IoType::Buffered`]).
    pub io_type: IoType,
    /// `WdfDeviceInitSetDeviceType` (default `FILE_DEVICE_UNKNOWN`).
    pub device_type: u16,
    /// `WdfDeviceInitSetCharacteristics` (default `FILE_DEVICE_SECURE_OPEN`).
    pub characteristics: u32,
    /// `WdfDeviceInitSetExclusive` (default `false`).
    pub exclusive: bool,
}

impl InitSettings {
    /// The framework's defaults (`WDFDEVICE_INIT::WDFDEVICE_INIT`).
    pub(crate) const DEFAULT: Self = Self {
        io_type: IoType::Buffered,
        device_type: wdm_compat::ioctl::device_type::UNKNOWN,
        characteristics: FILE_DEVICE_SECURE_OPEN,
        exclusive: false,
    };
}

/// What a control-device init holds when it is handed to `WdfDeviceCreate`.
pub(crate) struct ControlDeviceSettings {
    pub(crate) name: Option<&'static str>,
    pub(crate) sddl: &'static str,
    pub(crate) settings: InitSettings,
    /// `SynchronizationScope = WdfSynchronizationScopeDevice` in the device's attributes.
    pub(crate) synchronized: bool,
}

/// A GUID (a device interface class, for example).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Guid {
    /// `Data1`.
    pub data1: u32,
    /// `Data2`.
    pub data2: u16,
    /// `Data3`.
    pub data3: u16,
    /// `Data4`.
    pub data4: [u8; 8],
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g, h, i] = self.data4;
        write!(
            f,
            "{{{:08X}-{:04X}-{:04X}-{a:02X}{b:02X}-{c:02X}{d:02X}{e:02X}{g:02X}{h:02X}{i:02X}}}",
            self.data1, self.data2, self.data3
        )
    }
}

/// `WDF_OBJECT_CONTEXT_TYPE_INFO`: one `static` per context type; its address identifies the
/// type.
#[derive(Debug)]
pub struct ContextTypeInfo {
    /// `ContextName`.
    pub name: &'static str,
}

/// What KMDF passed to the `EvtIo*` callback that presented a request, kept with the request so
/// that reading it again costs no framework call (a C driver keeps them in its callback's
/// parameters). `Unknown` for a request the driver got otherwise (retrieved from a manual
/// queue, given back by the framework), which asks `WdfRequestGetParameters`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    not(any(feature = "host", all(feature = "wdk", target_os = "windows"))),
    allow(dead_code, reason = "only a framework backend presents requests")
)]
pub(crate) enum Given {
    /// Nothing kept.
    Unknown,
    /// `EvtIoRead` / `EvtIoWrite`: `Length`.
    Length(u32),
    /// `EvtIoDeviceControl` / `EvtIoInternalDeviceControl`.
    Ioctl {
        /// `IoControlCode`.
        code: u32,
        /// `InputBufferLength`.
        input: u32,
        /// `OutputBufferLength`.
        output: u32,
    },
}

#[cfg_attr(
    not(any(feature = "host", all(feature = "wdk", target_os = "windows"))),
    allow(dead_code, reason = "only a framework backend presents requests")
)]
impl Given {
    /// A callback's `Length`. KMDF passes an IRP's `ULONG` length as a `size_t`, so it fits
    /// 32 bits; were it larger, the most that fits is kept (never more than the buffer).
    pub(crate) fn length(length: usize) -> Self {
        Self::Length(u32::try_from(length).unwrap_or(u32::MAX))
    }

    /// A device-control callback's arguments; the lengths as in [`length`](Self::length). The
    /// variant does not depend on them, so the code is known wherever the request goes (a
    /// driver comparing it with a constant lets the compiler fold the transfer-method checks).
    pub(crate) fn ioctl(code: u32, input: usize, output: usize) -> Self {
        Self::Ioctl {
            code,
            input: u32::try_from(input).unwrap_or(u32::MAX),
            output: u32::try_from(output).unwrap_or(u32::MAX),
        }
    }
}

/// `WDF_POWER_DEVICE_STATE`: the device power state a device leaves (`EvtDeviceD0Entry`'s
/// `PreviousState`) or enters (`EvtDeviceD0Exit`'s `TargetState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowerState {
    /// `WdfPowerDeviceD0`: working.
    D0,
    /// `WdfPowerDeviceD1`.
    D1,
    /// `WdfPowerDeviceD2`.
    D2,
    /// `WdfPowerDeviceD3`: off, and the device stays (the system sleeps, or the device idles).
    D3,
    /// `WdfPowerDeviceD3Final`: off for good — the device starts for the first time (as the
    /// previous state) or is being stopped or removed (as the target state).
    D3Final,
    /// `WdfPowerDevicePrepareForHibernation`: the device stays on while the system hibernates
    /// (it is on the hibernation path).
    PrepareForHibernation,
}

/// The PnP and power events of a device that call into its driver (`WDF_PNPPOWER_EVENT_CALLBACKS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    not(any(feature = "host", all(feature = "wdk", target_os = "windows"))),
    allow(dead_code, reason = "only a framework backend raises events")
)]
pub(crate) enum PnpEvent {
    /// `EvtDevicePrepareHardware`.
    PrepareHardware,
    /// `EvtDeviceReleaseHardware`.
    ReleaseHardware,
    /// `EvtDeviceD0Entry` (with the previous state).
    D0Entry,
    /// `EvtDeviceD0Exit` (with the target state).
    D0Exit,
    /// `EvtDeviceSelfManagedIoInit`.
    SelfManagedIoInit,
    /// `EvtDeviceSelfManagedIoSuspend`.
    SelfManagedIoSuspend,
    /// `EvtDeviceSelfManagedIoRestart`.
    SelfManagedIoRestart,
    /// `EvtDeviceSelfManagedIoFlush`.
    SelfManagedIoFlush,
    /// `EvtDeviceSelfManagedIoCleanup`.
    SelfManagedIoCleanup,
    /// `EvtDeviceSurpriseRemoval`.
    SurpriseRemoval,
}

/// One keystroke as the keyboard port driver reports it (`KEYBOARD_INPUT_DATA`, ntddkbd.h):
/// laid out as the C structure, so the port's array is read in place.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyboardInputData {
    /// `UnitId`: which keyboard (`\Device\KeyboardPortN`).
    pub unit_id: u16,
    /// `MakeCode`: the scan code (set 1).
    pub make_code: u16,
    /// `Flags`: [`KeyboardInputData::KEY_BREAK`], [`KEY_E0`](Self::KEY_E0),
    /// [`KEY_E1`](Self::KEY_E1); none for a press (`KEY_MAKE`).
    pub flags: u16,
    /// `Reserved`.
    pub reserved: u16,
    /// `ExtraInformation`: device-specific.
    pub extra_information: u32,
}

impl KeyboardInputData {
    /// `KEY_MAKE`: the key went down.
    pub const KEY_MAKE: u16 = 0;
    /// `KEY_BREAK`: the key went up.
    pub const KEY_BREAK: u16 = 1;
    /// `KEY_E0`: an extended key (`E0` prefix).
    pub const KEY_E0: u16 = 2;
    /// `KEY_E1`: the `E1` prefix (Pause).
    pub const KEY_E1: u16 = 4;

    /// Whether this is a key release.
    #[must_use]
    pub const fn is_break(&self) -> bool {
        self.flags & Self::KEY_BREAK != 0
    }
}

static_assertions::assert_eq_size!(KeyboardInputData, [u8; 12]);
static_assertions::const_assert_eq!(core::mem::align_of::<KeyboardInputData>(), 4);
