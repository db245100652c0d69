using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Lanes.Testing;

/// <summary>
/// A TCP proxy on loopback in front of a server (PostgreSQL), so a fault test can take a process's database away
/// without touching the database itself: <see cref="Refuse"/> resets every connection and every new one (a database
/// that is down), <see cref="Blackhole"/> accepts and answers nothing (a network that drops packets), and
/// <see cref="Restore"/> forwards again.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Socket, byte> _open = new();
    private volatile Mode _mode = Mode.Forward;
    private Task _accepting = Task.CompletedTask;

    private enum Mode { Forward, Refuse, Blackhole }

    private TcpProxy(int targetPort) => _targetPort = targetPort;

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public static TcpProxy Start(int targetPort)
    {
        var proxy = new TcpProxy(targetPort);
        proxy._listener.Start();
        proxy._accepting = Task.Run(proxy.AcceptAsync);
        return proxy;
    }

    /// <summary>The connection string with its host and port replaced by this proxy's.</summary>
    public string Through(string connectionString) =>
        new Npgsql.NpgsqlConnectionStringBuilder(connectionString) { Host = "127.0.0.1", Port = Port }.ConnectionString;

    public void Refuse()
    {
        _mode = Mode.Refuse;
        CloseAll();
    }

    public void Blackhole() => _mode = Mode.Blackhole;

    /// <summary>Forwards again. Connections held in a blackhole are reset (their bytes were dropped, so they cannot
    /// continue); clients reconnect.</summary>
    public void Restore()
    {
        if (_mode == Mode.Blackhole)
        {
            CloseAll();
        }

        _mode = Mode.Forward;
    }

    private void CloseAll()
    {
        foreach (var socket in _open.Keys)
        {
            Reset(socket);
        }
    }

    private void Reset(Socket socket)
    {
        _open.TryRemove(socket, out _);
        try
        {
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            if (_mode == Mode.Refuse)
            {
                Reset(client);
                continue;
            }

            _open[client] = 0;
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(Socket client)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await server.ConnectAsync(IPAddress.Loopback, _targetPort, _stopping.Token);
            _open[server] = 0;
            await Task.WhenAny(PumpAsync(client, server), PumpAsync(server, client));
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
        finally
        {
            Reset(client);
            Reset(server);
        }
    }

    /// <summary>Copies one direction; in a blackhole, what arrives is read and dropped.</summary>
    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stopping.Token);
                if (read == 0)
                {
                    return;
                }

                if (_mode == Mode.Forward)
                {
                    await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stopping.Token);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        CloseAll();
        await _accepting;
        _stopping.Dispose();
    }
}
