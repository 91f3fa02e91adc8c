using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace Shipper.Outputs.Elasticsearch;

/// <summary>
/// <c>shipper test output</c>: for each host, the beats-style step report (parse url, dns lookup, dial up,
/// TLS, talk to server, version), each step OK, WARN or ERROR with the reason. Exit code 0 when every host
/// passed, else 1.
/// </summary>
public static class OutputTester
{
    public static async Task<int> RunAsync(ElasticsearchSettings settings, TextWriter output, CancellationToken cancellationToken = default)
    {
        var failed = false;
        using var transport = new ElasticsearchTransport(settings, null, TimeProvider.System);
        foreach (var host in settings.Hosts)
        {
            if (!await TestHostAsync(settings, transport, host, output, cancellationToken).ConfigureAwait(false))
            {
                failed = true;
            }
        }

        return failed ? 1 : 0;
    }

    private static async Task<bool> TestHostAsync(ElasticsearchSettings settings, ElasticsearchTransport transport, ElasticsearchHost host, TextWriter output, CancellationToken cancellationToken)
    {
        output.WriteLine($"elasticsearch: {host}...");
        output.WriteLine("  parse url... OK");
        output.WriteLine("  connection...");
        output.WriteLine("    parse host... OK");

        var name = host.BaseUri.IdnHost;
        IPAddress[] addresses;
        output.Write("    dns lookup... ");
        try
        {
            addresses = IPAddress.TryParse(name, out var literal)
                ? new[] { literal }
                : await Dns.GetHostAddressesAsync(name, cancellationToken).ConfigureAwait(false);
            if (addresses.Length == 0)
            {
                output.WriteLine($"ERROR no addresses for {name}");
                return false;
            }

            output.WriteLine("OK");
            output.WriteLine($"    addresses: {string.Join(", ", Array.ConvertAll(addresses, a => a.ToString()))}");
        }
        catch (SocketException e)
        {
            output.WriteLine($"ERROR lookup {name}: {e.Message}");
            return false;
        }

        output.Write("    dial up... ");
        Socket socket;
        try
        {
            socket = await DialAsync(addresses, host.BaseUri.Port, settings.Timeout, cancellationToken).ConfigureAwait(false);
            output.WriteLine("OK");
        }
        catch (Exception e) when (e is SocketException or TimeoutException)
        {
            output.WriteLine($"ERROR dial tcp {name}:{host.BaseUri.Port}: {e.Message}");
            return false;
        }

        using (socket)
        {
            if (!host.IsHttps)
            {
                output.WriteLine("  TLS... WARN secure connection disabled");
            }
            else if (!await TestTlsAsync(settings, transport, socket, name, output, cancellationToken).ConfigureAwait(false))
            {
                return false;
            }
        }

        output.Write("  talk to server... ");
        try
        {
            var info = await ClusterHandshake.ConnectAsync(transport, host, cancellationToken).ConfigureAwait(false);
            output.WriteLine("OK");
            output.WriteLine($"  version: {info.VersionNumber}");
            return true;
        }
        catch (ConnectFailure failure)
        {
            output.WriteLine($"ERROR {failure.Message}");
            return false;
        }
    }

    private static async Task<bool> TestTlsAsync(ElasticsearchSettings settings, ElasticsearchTransport transport, Socket socket, string name, TextWriter output, CancellationToken cancellationToken)
    {
        output.WriteLine("  TLS...");
        if (transport.Validator.Mode == TlsVerificationMode.None)
        {
            output.WriteLine("    security... WARN server's certificate chain verification is disabled");
        }
        else
        {
            output.WriteLine($"    security: server's certificate chain verification is enabled ({transport.Validator.Mode.ToString().ToLowerInvariant()})");
        }

        output.Write("    handshake... ");
        var options = ElasticsearchTransport.CreateSslOptions(settings.Ssl, transport.Validator);
        options.TargetHost = name;
        await using var tls = new SslStream(new NetworkStream(socket, ownsSocket: false));
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(settings.Timeout);
            await tls.AuthenticateAsClientAsync(options, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException)
        {
            output.WriteLine($"ERROR {(e is AuthenticationException && transport.Validator.LastFailure is { } why ? why : e.Message)}");
            return false;
        }

        output.WriteLine("OK");
        output.WriteLine($"    TLS version: {ProtocolName(tls.SslProtocol)}");
        output.WriteLine("    dial up... OK");
        return true;
    }

    private static async Task<Socket> DialAsync(IPAddress[] addresses, int port, TimeSpan timeout, CancellationToken cancellationToken)
    {
        SocketException? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                limit.CancelAfter(timeout);
                await socket.ConnectAsync(new IPEndPoint(address, port), limit.Token).ConfigureAwait(false);
                return socket;
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                socket.Dispose();
                throw new TimeoutException($"no connection within {Module.Config.ValueParsers.FormatDuration(timeout)}");
            }
        }

        throw last!;
    }

    private static string ProtocolName(SslProtocols protocol) => protocol switch
    {
        SslProtocols.Tls13 => "TLSv1.3",
        SslProtocols.Tls12 => "TLSv1.2",
        _ => protocol.ToString(),
    };
}
