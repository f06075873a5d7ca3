//! The daemon's wire protocol: length-prefixed, versioned binary frames,
//! bounded in size, decoded with the ruleset's codec settings. No text
//! parser, no JSON, no pickle. The book's "Daemon mode" chapter documents
//! it byte for byte; keep them in step.
//!
//! A frame is an 8-byte header, then its payload:
//!
//! | bytes | field |
//! | --- | --- |
//! | 0-1 | magic `RW` |
//! | 2 | protocol version ([`VERSION`]) |
//! | 3 | kind ([`Kind`]) |
//! | 4-7 | payload length, u32 little-endian |
//!
//! The client sends one `Request` frame per command; the daemon answers
//! with any number of `Stdout` and `Stderr` frames (the command's output,
//! streamed in chunks of at most [`MAX_CHUNK`] bytes), then one `Exit`
//! frame; or with one `Error` frame, after which it closes the connection.
#![forbid(unsafe_code)]

use std::fmt;
use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};

/// The two bytes every frame starts with.
pub const MAGIC: [u8; 2] = *b"RW";
/// The protocol version this runtime speaks.
pub const VERSION: u8 = 1;
/// The header's length.
pub const HEADER_LEN: usize = 8;
/// The largest request payload (argv and stdin together): the daemon
/// buffers one request per connection, and decodes one per running
/// command.
pub const MAX_REQUEST: u32 = 4 << 20;
/// The largest output chunk the daemon sends.
pub const MAX_CHUNK: u32 = 64 << 10;
/// The largest `Exit` or `Error` payload (their messages are cut to fit).
pub const MAX_MESSAGE: u32 = 16 << 10;
/// The largest payload a client accepts.
pub const MAX_RESPONSE: u32 = MAX_CHUNK + MAX_MESSAGE;
/// The most arguments a request may carry. Each costs the daemon far more
/// decoded than its one byte on the wire (a 4 MiB request of empty
/// arguments grew to 550 MiB): the count bounds that. No real command
/// line comes near it; the kernel itself takes at most some 230,000.
pub const MAX_ARGS: usize = 1 << 16;
/// The longest argument a request may carry, and the most bytes its
/// arguments may take together (each counting one more for its NUL): the
/// Linux kernel's own limits for `execve` (`MAX_ARG_STRLEN`, and the
/// `ARG_MAX` of the default 8 MiB stack). A command line beyond them could
/// not run; its audit records, several times its size, would be written.
pub const MAX_ARG_LEN: usize = (128 << 10) - 1;
pub const MAX_ARGV_BYTES: usize = 2 << 20;
/// What either end reads ahead of the frame it wants: a small frame and its
/// header arrive in one `recv`, a large one is read straight into place.
pub const READ_AHEAD: usize = 8 << 10;

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Client to daemon: a [`Request`].
    Request = 1,
    /// A chunk of the command's stdout, raw bytes.
    Stdout = 2,
    /// A chunk of the command's stderr, raw bytes.
    Stderr = 3,
    /// The end of a command: an [`Exit`].
    Exit = 4,
    /// The daemon refuses the connection or the request: an [`Error`],
    /// then it closes the connection.
    Error = 5,
}

impl Kind {
    fn from_byte(byte: u8) -> Option<Kind> {
        Some(match byte {
            1 => Kind::Request,
            2 => Kind::Stdout,
            3 => Kind::Stderr,
            4 => Kind::Exit,
            5 => Kind::Error,
            _ => return None,
        })
    }

    /// The largest payload of this kind.
    pub fn max_len(self) -> u32 {
        match self {
            Kind::Request => MAX_REQUEST,
            Kind::Stdout | Kind::Stderr => MAX_CHUNK,
            Kind::Exit | Kind::Error => MAX_MESSAGE,
        }
    }
}

/// One command to run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The command line, as `rootwrap RULESET` would take it, within the
    /// kernel's limits (see [`command_line`]).
    #[serde(deserialize_with = "command_line")]
    pub argv: Vec<serde_bytes::ByteBuf>,
    /// Written to the command's stdin, which is then closed.
    #[serde(with = "serde_bytes")]
    pub stdin: Vec<u8>,
    /// Milliseconds after which the command (its whole process group) is
    /// killed with SIGKILL; `None`: no limit.
    pub timeout_ms: Option<u64>,
}

/// Decodes a request's argv, refusing what no command line can be: more
/// than [`MAX_ARGS`] arguments (whatever the length prefix claims), one
/// longer than [`MAX_ARG_LEN`], more than [`MAX_ARGV_BYTES`] in all, or an
/// argument with a NUL byte.
fn command_line<'de, D: serde::Deserializer<'de>>(
    decoder: D,
) -> Result<Vec<serde_bytes::ByteBuf>, D::Error> {
    struct CommandLine;
    impl<'de> serde::de::Visitor<'de> for CommandLine {
        type Value = Vec<serde_bytes::ByteBuf>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a command line of at most {MAX_ARGS} arguments")
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            use serde::de::Error as _;
            let claimed = seq.size_hint().unwrap_or(0);
            let mut argv = Vec::with_capacity(claimed.min(MAX_ARGS));
            let mut bytes = 0;
            while let Some(arg) = seq.next_element::<serde_bytes::ByteBuf>()? {
                if argv.len() == MAX_ARGS {
                    return Err(A::Error::custom(format!("more than {MAX_ARGS} arguments")));
                }
                if arg.len() > MAX_ARG_LEN {
                    return Err(A::Error::custom(format!(
                        "argument {} is longer than {MAX_ARG_LEN} bytes",
                        argv.len()
                    )));
                }
                bytes += arg.len() + 1;
                if bytes > MAX_ARGV_BYTES {
                    return Err(A::Error::custom(format!(
                        "the arguments take more than {MAX_ARGV_BYTES} bytes"
                    )));
                }
                if arg.contains(&0) {
                    return Err(A::Error::custom(format!(
                        "argument {} holds a NUL byte, which no command line can",
                        argv.len()
                    )));
                }
                argv.push(arg);
            }
            Ok(argv)
        }
    }
    decoder.deserialize_seq(CommandLine)
}

/// How a command ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exit {
    /// As `sudo rootwrap` would exit: the command's status, 128 + N when
    /// signal N killed it, or rootwrap's own code (96-99, 126).
    pub status: u32,
    /// As oslo.rootwrap's daemon returns it: the same, except `-N` when
    /// signal N killed the command.
    pub raw: i32,
    /// The command was killed because its timeout expired.
    pub timed_out: bool,
    /// Why the command did not run (the line `rootwrap` would print on
    /// stderr); empty when it ran.
    #[serde(with = "serde_bytes")]
    pub message: Vec<u8>,
}

/// Why the daemon refuses a connection or a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refused {
    /// The peer's user may not use this daemon.
    NotAllowed,
    /// Too many connections or waiting requests: try again later.
    Busy,
    /// The frame was malformed, too large or of another version.
    BadFrame,
    /// The daemon is shutting down.
    ShuttingDown,
}

/// An `Error` frame's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Error {
    pub refused: Refused,
    #[serde(with = "serde_bytes")]
    pub message: Vec<u8>,
}

/// A frame read off the wire, its payload not yet decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub kind: Kind,
    pub payload: Vec<u8>,
}

/// Why a frame could not be read.
#[derive(Debug)]
pub enum FrameError {
    /// The stream failed or ended inside a frame.
    Io(io::Error),
    BadMagic([u8; 2]),
    Version(u8),
    UnknownKind(u8),
    /// A kind the reader does not accept here (a client sending `Exit`).
    Unexpected(Kind),
    TooLarge {
        kind: Kind,
        len: u32,
    },
    /// The payload does not decode as its kind's type.
    Payload(String),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Io(e) => write!(f, "cannot read a frame: {e}"),
            FrameError::BadMagic(m) => write!(f, "bad frame magic {:02x}{:02x}", m[0], m[1]),
            FrameError::Version(v) => {
                write!(f, "protocol version {v}; this rootwrap speaks {VERSION}")
            }
            FrameError::UnknownKind(k) => write!(f, "unknown frame kind {k}"),
            FrameError::Unexpected(k) => write!(f, "unexpected {k:?} frame"),
            FrameError::TooLarge { kind, len } => write!(
                f,
                "{kind:?} frame of {len} bytes, more than its {}-byte limit",
                kind.max_len()
            ),
            FrameError::Payload(e) => write!(f, "malformed payload: {e}"),
        }
    }
}

impl std::error::Error for FrameError {}

/// The header of a frame of `kind` with a payload of `len` bytes.
pub fn header(kind: Kind, len: u32) -> [u8; HEADER_LEN] {
    let mut out = [0u8; HEADER_LEN];
    out[..2].copy_from_slice(&MAGIC);
    out[2] = VERSION;
    out[3] = kind as u8;
    out[4..].copy_from_slice(&len.to_le_bytes());
    out
}

/// Reads one frame whose kind is one of `accepted`. `Ok(None)`: the stream
/// ended cleanly between frames. A payload beyond its kind's limit is
/// refused from the header alone, before anything is allocated for it.
pub fn read_frame(reader: &mut impl Read, accepted: &[Kind]) -> Result<Option<Frame>, FrameError> {
    let mut head = [0u8; HEADER_LEN];
    let mut filled = 0;
    while let Some(rest) = head.get_mut(filled..).filter(|rest| !rest.is_empty()) {
        match reader.read(rest) {
            Ok(0) if filled == 0 => return Ok(None),
            Ok(0) => return Err(FrameError::Io(io::ErrorKind::UnexpectedEof.into())),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
    let (kind, len) = parse_header(&head, accepted)?;
    let mut payload = vec![0u8; len as usize];
    reader.read_exact(&mut payload).map_err(FrameError::Io)?;
    Ok(Some(Frame { kind, payload }))
}

/// Checks a header: magic, version, a kind in `accepted`, its length
/// within the kind's limit.
pub fn parse_header(head: &[u8; HEADER_LEN], accepted: &[Kind]) -> Result<(Kind, u32), FrameError> {
    if head[..2] != MAGIC {
        return Err(FrameError::BadMagic([head[0], head[1]]));
    }
    if head[2] != VERSION {
        return Err(FrameError::Version(head[2]));
    }
    let kind = Kind::from_byte(head[3]).ok_or(FrameError::UnknownKind(head[3]))?;
    if !accepted.contains(&kind) {
        return Err(FrameError::Unexpected(kind));
    }
    let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    if len > kind.max_len() {
        return Err(FrameError::TooLarge { kind, len });
    }
    Ok((kind, len))
}

impl Frame {
    pub fn request(&self) -> Result<Request, FrameError> {
        crate::format::codec::decode(&self.payload).map_err(FrameError::Payload)
    }

    pub fn exit(&self) -> Result<Exit, FrameError> {
        crate::format::codec::decode(&self.payload).map_err(FrameError::Payload)
    }

    pub fn error(&self) -> Result<Error, FrameError> {
        crate::format::codec::decode(&self.payload).map_err(FrameError::Payload)
    }
}

/// Writes one frame, header and payload in one write where the writer
/// allows it.
pub fn write_frame(writer: &mut impl Write, kind: Kind, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|&len| len <= kind.max_len())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "payload too large"))?;
    let mut bytes = Vec::with_capacity(HEADER_LEN + payload.len());
    bytes.extend_from_slice(&header(kind, len));
    bytes.extend_from_slice(payload);
    writer.write_all(&bytes)
}

/// Encodes `value` as a frame of `kind`.
pub fn write_value<T: Serialize>(writer: &mut impl Write, kind: Kind, value: &T) -> io::Result<()> {
    let payload = crate::format::codec::encode(value).map_err(io::Error::other)?;
    write_frame(writer, kind, &payload)
}

/// `message` cut to fit an `Exit` or `Error` frame, with a marker saying
/// so.
pub fn fit_message(message: &[u8]) -> Vec<u8> {
    // Room for the other fields and the length prefixes.
    let room = MAX_MESSAGE as usize - 64;
    if message.len() <= room {
        return message.to_vec();
    }
    let marker = format!("... ({} bytes cut)", message.len() - room + 32);
    let mut cut = message.get(..room - 32).unwrap_or_default().to_vec();
    cut.extend_from_slice(marker.as_bytes());
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_bytes(request: &Request) -> Vec<u8> {
        let mut out = Vec::new();
        write_value(&mut out, Kind::Request, request).unwrap();
        out
    }

    #[test]
    fn a_request_round_trips() {
        let request = Request {
            argv: vec![b"cat".to_vec().into(), b"\xff\n".to_vec().into()],
            stdin: b"input".to_vec(),
            timeout_ms: Some(1500),
        };
        let bytes = request_bytes(&request);
        let frame = read_frame(&mut &bytes[..], &[Kind::Request])
            .unwrap()
            .unwrap();
        assert_eq!(frame.request().unwrap(), request);
    }

    /// The encoding the book documents (and the Python client writes).
    #[test]
    fn the_wire_format_is_as_documented() {
        let request = Request {
            argv: vec![b"ls".to_vec().into()],
            stdin: Vec::new(),
            timeout_ms: None,
        };
        assert_eq!(
            request_bytes(&request),
            b"RW\x01\x01\x06\x00\x00\x00\x01\x02ls\x00\x00".to_vec()
        );
        let exit = Exit {
            status: 137,
            raw: -9,
            timed_out: true,
            message: b"x".to_vec(),
        };
        let mut out = Vec::new();
        write_value(&mut out, Kind::Exit, &exit).unwrap();
        // Integers below 251 take one byte; -9 zigzags to 17.
        assert_eq!(out, b"RW\x01\x04\x05\x00\x00\x00\x89\x11\x01\x01x".to_vec());
    }

    #[test]
    fn bad_frames_are_refused_before_allocating() {
        let mut huge = header(Kind::Request, MAX_REQUEST + 1).to_vec();
        huge.extend_from_slice(&[0; 16]);
        assert!(matches!(
            read_frame(&mut &huge[..], &[Kind::Request]),
            Err(FrameError::TooLarge { .. })
        ));
        let mut other = header(Kind::Request, 0);
        other[2] = 9;
        assert!(matches!(
            read_frame(&mut &other[..], &[Kind::Request]),
            Err(FrameError::Version(9))
        ));
        assert!(matches!(
            read_frame(&mut &b"XX\x01\x01\0\0\0\0"[..], &[Kind::Request]),
            Err(FrameError::BadMagic(_))
        ));
        assert!(matches!(
            read_frame(&mut &header(Kind::Exit, 0)[..], &[Kind::Request]),
            Err(FrameError::Unexpected(Kind::Exit))
        ));
        assert!(matches!(
            read_frame(&mut &b"RW\x01"[..], &[Kind::Request]),
            Err(FrameError::Io(_))
        ));
        assert!(read_frame(&mut &b""[..], &[Kind::Request])
            .unwrap()
            .is_none());
        // A payload with trailing bytes, or a length prefix beyond it.
        let mut trailing = request_bytes(&Request::default());
        trailing[4] += 1;
        trailing.push(0);
        let frame = read_frame(&mut &trailing[..], &[Kind::Request])
            .unwrap()
            .unwrap();
        assert!(matches!(frame.request(), Err(FrameError::Payload(_))));
        let lying = Frame {
            kind: Kind::Request,
            payload: vec![0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
        };
        assert!(matches!(lying.request(), Err(FrameError::Payload(_))));
    }

    fn decoded(argv: Vec<serde_bytes::ByteBuf>) -> Result<Request, FrameError> {
        let bytes = request_bytes(&Request {
            argv,
            ..Request::default()
        });
        let frame = read_frame(&mut &bytes[..], &[Kind::Request])
            .unwrap()
            .unwrap();
        frame.request()
    }

    /// Found attacking the daemon: 4 MiB of empty arguments made it peak
    /// at 550 MiB.
    #[test]
    fn a_request_carries_at_most_max_args_arguments() {
        let empty = || serde_bytes::ByteBuf::from(Vec::new());
        assert_eq!(
            decoded(vec![empty(); MAX_ARGS]).unwrap().argv.len(),
            MAX_ARGS
        );
        let refused = decoded(vec![empty(); MAX_ARGS + 1]).unwrap_err();
        assert!(
            refused.to_string().contains("more than 65536 arguments"),
            "{refused}"
        );
    }

    /// Found attacking the daemon: one 4 MiB argument made 80 MiB of
    /// audit records. The kernel's limits, to the byte.
    #[test]
    fn a_request_carries_what_execve_would_take() {
        let arg = |len: usize| serde_bytes::ByteBuf::from(vec![b'a'; len]);
        assert!(decoded(vec![arg(MAX_ARG_LEN)]).is_ok());
        let long = decoded(vec![arg(MAX_ARG_LEN + 1)]).unwrap_err();
        assert!(
            long.to_string()
                .contains("argument 0 is longer than 131071 bytes"),
            "{long}"
        );
        // 16 arguments of 131071 bytes and their NULs: 2 MiB exactly.
        assert!(decoded(vec![arg(MAX_ARG_LEN); 16]).is_ok());
        let mut over = vec![arg(MAX_ARG_LEN); 16];
        over.push(arg(0));
        let many = decoded(over).unwrap_err();
        assert!(
            many.to_string().contains("more than 2097152 bytes"),
            "{many}"
        );
    }

    /// A NUL byte would pass the matcher and fail only at `execve`.
    #[test]
    fn an_argument_with_a_nul_byte_is_malformed() {
        let argv = vec![b"echo".to_vec().into(), b"a\0b".to_vec().into()];
        let refused = decoded(argv).unwrap_err();
        assert!(
            refused.to_string().contains("argument 1 holds a NUL byte"),
            "{refused}"
        );
    }

    #[test]
    fn long_messages_are_cut_to_fit() {
        let cut = fit_message(&vec![b'a'; 1 << 20]);
        assert!(cut.len() < MAX_MESSAGE as usize - 32);
        let mut out = Vec::new();
        let exit = Exit {
            message: cut,
            ..Exit::default()
        };
        write_value(&mut out, Kind::Exit, &exit).unwrap();
    }
}
