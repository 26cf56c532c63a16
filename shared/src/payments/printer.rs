//! Network receipt printers: an ESC/POS job sent over raw TCP (port 9100 by default), the way
//! receipt printers on a store's LAN take work. A printer that cannot be reached, or that
//! stops taking the job, is reported as an error: the caller records it, and a check that was
//! paid stays paid.

use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Where receipts go.
pub trait ReceiptPrinter: Send + Sync {
    /// The printer's address, as recorded with each receipt.
    fn address(&self) -> String;
    /// Sends one job; the error says why it did not print.
    fn print(&self, job: &[u8]) -> Result<(), String>;
}

/// A printer on the network, spoken to over raw TCP.
#[derive(Debug, Clone)]
pub struct NetworkPrinter {
    address: String,
    timeout: Duration,
}

impl NetworkPrinter {
    /// A printer at `address` (`host:port`), with `timeout` to connect and to take the job.
    pub fn new(address: &str, timeout: Duration) -> NetworkPrinter {
        NetworkPrinter {
            address: address.to_owned(),
            timeout,
        }
    }
}

impl ReceiptPrinter for NetworkPrinter {
    fn address(&self) -> String {
        self.address.clone()
    }

    fn print(&self, job: &[u8]) -> Result<(), String> {
        let addr = self
            .address
            .to_socket_addrs()
            .map_err(|e| format!("{}: {e}", self.address))?
            .next()
            .ok_or_else(|| format!("{}: no address", self.address))?;
        let mut stream = TcpStream::connect_timeout(&addr, self.timeout)
            .map_err(|e| format!("printer {} not reachable: {e}", self.address))?;
        stream
            .set_write_timeout(Some(self.timeout))
            .map_err(|e| e.to_string())?;
        stream
            .write_all(job)
            .and_then(|()| stream.flush())
            .map_err(|e| format!("printer {} stopped taking the job: {e}", self.address))?;
        stream
            .shutdown(std::net::Shutdown::Write)
            .map_err(|e| format!("printer {}: {e}", self.address))?;
        tracing::info!(printer = %self.address, bytes = job.len(), "receipt sent to the printer");
        Ok(())
    }
}
