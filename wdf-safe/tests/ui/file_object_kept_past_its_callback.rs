// The file object a file callback is lent cannot be kept past the callback: the open it stands
// for may be gone when the driver looks at it again.
use std::sync::Mutex;

use wdf_safe::file::FileObject;

struct Driver {
    kept: Mutex<Option<FileObject<'static, u32>>>,
}

fn on_cleanup(driver: &Driver, file: FileObject<'_, u32>) {
    *driver.kept.lock().unwrap() = Some(file);
}

fn main() {
    let _ = on_cleanup;
}
