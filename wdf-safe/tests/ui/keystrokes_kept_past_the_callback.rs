// The keystrokes a keyboard filter's hooked service callback is lent are the port driver's
// buffer, for the call: a filter cannot keep them (the port reuses the buffer once the class
// driver has consumed them).
use std::sync::Mutex;

use wdf_safe::keyboard::{KeyboardFilter, KeyboardInputData};
use wdf_safe::kind::state::Ready;
use wdf_safe::{Device, DriverContext, KmdfDriver, NtResult};

struct Filter {
    last: Mutex<Option<&'static mut [KeyboardInputData]>>,
}

impl KmdfDriver for Filter {
    const PNP: bool = true;

    fn driver_entry(_driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        Ok(Self { last: Mutex::new(None) })
    }
}

impl KeyboardFilter for Filter {
    fn on_keystrokes(&self, _device: Device<Self, Ready>, keys: &mut [KeyboardInputData]) {
        *self.last.lock().unwrap() = Some(keys);
    }
}

fn main() {}
