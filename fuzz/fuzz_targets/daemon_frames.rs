//! Arbitrary bytes as what a peer sends the daemon (and a daemon sends a
//! client): frames are read and decoded until the stream ends or a frame
//! is refused. Never a panic, never a payload beyond its kind's limit, and
//! every value decoded re-encodes to a frame that decodes to it again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rootwrap::daemon::protocol::{self, Frame, Kind};

fuzz_target!(|data: &[u8]| {
    let mut stream = data;
    let all = [Kind::Request, Kind::Stdout, Kind::Stderr, Kind::Exit, Kind::Error];
    while let Ok(Some(frame)) = protocol::read_frame(&mut stream, &all) {
        assert!(frame.payload.len() <= frame.kind.max_len() as usize);
        match frame.kind {
            Kind::Request => {
                if let Ok(request) = frame.request() {
                    let mut out = Vec::new();
                    protocol::write_value(&mut out, Kind::Request, &request).unwrap();
                    assert_eq!(again(&out).request().unwrap(), request);
                }
            }
            Kind::Exit => {
                if let Ok(exit) = frame.exit() {
                    let mut out = Vec::new();
                    protocol::write_value(&mut out, Kind::Exit, &exit).unwrap();
                    assert_eq!(again(&out).exit().unwrap(), exit);
                }
            }
            Kind::Error => {
                if let Ok(error) = frame.error() {
                    let mut out = Vec::new();
                    protocol::write_value(&mut out, Kind::Error, &error).unwrap();
                    assert_eq!(again(&out).error().unwrap(), error);
                }
            }
            Kind::Stdout | Kind::Stderr => {}
        }
    }
});

fn again(bytes: &[u8]) -> Frame {
    let all = [Kind::Request, Kind::Exit, Kind::Error];
    protocol::read_frame(&mut &bytes[..], &all).unwrap().unwrap()
}
