//! The embassy-time driver: the Cortex-M SysTick, interrupting at `TICK_HZ` (1 kHz here).
//!
//! Each interrupt adds one to a 64-bit tick count and wakes the timers that are due. QEMU
//! clocks SysTick from the machine's core clock: 16 MHz on the microbit (the nRF51's HCLK),
//! 25 MHz on the mps2-an386. (A real nRF51 has no SysTick; QEMU's Cortex-M0 always has one.
//! Firmware for the real chip would use embassy-nrf's RTC driver.) Under `-icount` QEMU's
//! clock counts instructions, so every run sees the same emulated time.
//!
//! All safe code: `cortex-m`'s `critical-section-single-core` implementation guards the state.

use core::cell::{Cell, RefCell};
use core::task::Waker;

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;
use critical_section::Mutex;
use embassy_time_driver::{Driver, TICK_HZ};
use embassy_time_queue_utils::Queue;

/// The core clock that feeds SysTick on this machine.
#[cfg(machine = "microbit")]
const CORE_HZ: u64 = 16_000_000;
#[cfg(machine = "mps2-an386")]
const CORE_HZ: u64 = 25_000_000;

/// SysTick counts `RELOAD + 1` core cycles per tick; it is a 24-bit counter.
const RELOAD: u32 = {
    let cycles = CORE_HZ / TICK_HZ;
    assert!(
        cycles >= 2 && cycles <= 1 << 24,
        "TICK_HZ does not fit SysTick"
    );
    assert!(
        CORE_HZ.is_multiple_of(TICK_HZ),
        "TICK_HZ must divide CORE_HZ"
    );
    (cycles - 1) as u32
};

struct SysTickDriver {
    /// Ticks since `start`.
    ticks: Mutex<Cell<u64>>,
    /// The timers waiting, with the wakers of their tasks.
    queue: Mutex<RefCell<Queue>>,
}

embassy_time_driver::time_driver_impl!(static DRIVER: SysTickDriver = SysTickDriver {
    ticks: Mutex::new(Cell::new(0)),
    queue: Mutex::new(RefCell::new(Queue::new())),
});

/// Starts the tick. Until then time stands at 0.
pub fn start(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(RELOAD);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

impl Driver for SysTickDriver {
    fn now(&self) -> u64 {
        critical_section::with(|cs| self.ticks.borrow(cs).get())
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            let mut queue = self.queue.borrow_ref_mut(cs);
            queue.schedule_wake(at, waker);
            // Wakes it at once if `at` has already passed.
            queue.next_expiration(self.ticks.borrow(cs).get());
        });
    }
}

#[exception]
fn SysTick() {
    critical_section::with(|cs| {
        let ticks = DRIVER.ticks.borrow(cs);
        let now = ticks.get() + 1;
        ticks.set(now);
        DRIVER.queue.borrow_ref_mut(cs).next_expiration(now);
    });
}
