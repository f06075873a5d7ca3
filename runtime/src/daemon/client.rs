//! A client of `rootwrap-daemon`: one connection, requests one at a time.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::fmt;
use std::io::{self, BufReader};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use crate::daemon::protocol::{self, Exit, FrameError, Kind, Request};

/// Why a request got no `Exit`.
#[derive(Debug)]
pub enum ClientError {
    /// Connecting or writing failed.
    Io(io::Error),
    /// The daemon's reply was malformed, or it closed the connection.
    Frame(FrameError),
    /// The daemon refused the connection or the request.
    Refused(protocol::Error),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Io(e) => write!(f, "{e}"),
            ClientError::Frame(e) => write!(f, "{e}"),
            ClientError::Refused(e) => write!(
                f,
                "the daemon refused ({:?}): {}",
                e.refused,
                String::from_utf8_lossy(&e.message)
            ),
        }
    }
}

impl std::error::Error for ClientError {}

/// Where a chunk of output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// A connection to a daemon.
#[derive(Debug)]
pub struct Client {
    /// Requests are written to the stream itself, never through the buffer.
    stream: BufReader<UnixStream>,
}

/// A finished request, its output gathered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub exit: Exit,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Client {
    pub fn connect(socket: &Path) -> Result<Client, ClientError> {
        UnixStream::connect(socket)
            .map(|stream| Client {
                stream: BufReader::with_capacity(protocol::READ_AHEAD, stream),
            })
            .map_err(ClientError::Io)
    }

    /// Runs `argv` through the daemon; each chunk of output goes to
    /// `output` as it arrives.
    pub fn run(
        &mut self,
        argv: &[OsString],
        stdin: &[u8],
        timeout: Option<Duration>,
        mut output: impl FnMut(Stream, &[u8]),
    ) -> Result<Exit, ClientError> {
        let request = Request {
            argv: argv
                .iter()
                .map(|arg| arg.as_bytes().to_vec().into())
                .collect(),
            stdin: stdin.to_vec(),
            timeout_ms: timeout.map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
        };
        if let Err(e) = protocol::write_value(self.stream.get_mut(), Kind::Request, &request) {
            // A daemon that refused the connection has said why before
            // closing it.
            return Err(
                match protocol::read_frame(&mut self.stream, &[Kind::Error]) {
                    Ok(Some(frame)) => match frame.error() {
                        Ok(refused) => ClientError::Refused(refused),
                        Err(_) => ClientError::Io(e),
                    },
                    _ => ClientError::Io(e),
                },
            );
        }
        loop {
            let frame = protocol::read_frame(
                &mut self.stream,
                &[Kind::Stdout, Kind::Stderr, Kind::Exit, Kind::Error],
            )
            .map_err(ClientError::Frame)?
            .ok_or(ClientError::Frame(FrameError::Io(
                io::ErrorKind::UnexpectedEof.into(),
            )))?;
            match frame.kind {
                Kind::Stdout => output(Stream::Stdout, &frame.payload),
                Kind::Stderr => output(Stream::Stderr, &frame.payload),
                Kind::Exit => return frame.exit().map_err(ClientError::Frame),
                Kind::Error => {
                    return Err(ClientError::Refused(
                        frame.error().map_err(ClientError::Frame)?,
                    ))
                }
                Kind::Request => {
                    return Err(ClientError::Frame(FrameError::Unexpected(frame.kind)))
                }
            }
        }
    }

    /// Runs `argv` and gathers its output (as oslo's `execute` does).
    pub fn execute(&mut self, argv: &[OsString], stdin: &[u8]) -> Result<Output, ClientError> {
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let exit = self.run(argv, stdin, None, |stream, bytes| match stream {
            Stream::Stdout => stdout.extend_from_slice(bytes),
            Stream::Stderr => stderr.extend_from_slice(bytes),
        })?;
        Ok(Output {
            exit,
            stdout,
            stderr,
        })
    }
}

/// `rootwrap-client`'s status when it got no answer from the daemon
/// (cannot connect, refused, malformed reply).
pub const NO_ANSWER: i32 = 125;

/// `rootwrap-client SOCKET CMD ARGS...`: stdin (unless it is a terminal)
/// goes to the command; its stdout and stderr come out as they arrive; a
/// refusal's line is said on stderr as `rootwrap` says it; the exit status
/// is the one `sudo rootwrap` would have.
pub fn main_with(mut args: impl Iterator<Item = OsString>) -> i32 {
    use std::io::{IsTerminal, Read, Write};
    let _program = args.next();
    let Some(socket) = args.next() else {
        eprintln!("usage: rootwrap-client SOCKET CMD ARGS...");
        return crate::exit::ExitCode::NoCommand.into();
    };
    let argv: Vec<OsString> = args.collect();
    let mut stdin = Vec::new();
    if !io::stdin().is_terminal() {
        let limit = u64::from(protocol::MAX_REQUEST);
        if let Err(e) = io::stdin().lock().take(limit + 1).read_to_end(&mut stdin) {
            eprintln!("rootwrap-client: cannot read stdin: {e}");
            return NO_ANSWER;
        }
    }
    let answer = Client::connect(Path::new(&socket)).and_then(|mut client| {
        client.run(&argv, &stdin, None, |stream, bytes| {
            let _ = match stream {
                Stream::Stdout => io::stdout().lock().write_all(bytes),
                Stream::Stderr => io::stderr().lock().write_all(bytes),
            };
        })
    });
    match answer {
        Ok(exit) => {
            if !exit.message.is_empty() {
                crate::audit::say(&exit.message);
            }
            let _ = io::stdout().flush();
            i32::try_from(exit.status).unwrap_or(NO_ANSWER)
        }
        Err(e) => {
            eprintln!("rootwrap-client: {}: {e}", Path::new(&socket).display());
            NO_ANSWER
        }
    }
}
