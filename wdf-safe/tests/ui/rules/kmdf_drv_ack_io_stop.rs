// SDV DrvAckIoStop: a power-managed queue must not ignore the requests the driver owns when it
// powers down; a queue is power-managed only together with an EvtIoStop, which acknowledges.
use wdf_safe::QueueConfig;
use wdf_safe::kind::Parallel;

struct Driver;

fn main() {
    let _config: QueueConfig<Parallel, Driver> = QueueConfig::parallel().power_managed();
}
