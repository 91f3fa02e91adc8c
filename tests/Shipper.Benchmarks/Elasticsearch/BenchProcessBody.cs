using System.Text.Json;
using Shipper.Module.Registry;

namespace Shipper.Benchmarks.Elasticsearch;

/// <summary>
/// A process document body as varied as real ones (different executables, arguments, pids, hashes, users),
/// so gzip sees realistic entropy. Every value is built up front: writing it allocates nothing, so the
/// allocations measured are the output's own.
/// </summary>
public sealed class BenchProcessBody : IEventBody
{
    private static readonly string[] Executables =
    {
        "/usr/bin/bash", "/usr/bin/ls", "/usr/bin/grep", "/usr/bin/python3.11", "/usr/sbin/sshd", "/usr/bin/curl",
        "/usr/lib/systemd/systemd-journald", "/usr/bin/git", "/usr/bin/tar", "/usr/bin/sed", "/usr/bin/awk",
        "/usr/local/bin/node", "/usr/bin/dockerd", "/usr/bin/containerd-shim-runc-v2", "/usr/sbin/cron", "/usr/bin/sudo",
    };

    private static readonly string[] Words =
    {
        "--verbose", "-la", "/var/log/syslog", "--color=auto", "origin", "main", "-czf", "/tmp/backup.tar.gz", "/etc/nginx",
        "s/foo/bar/g", "https://api.example.com/v1/health", "-H", "Authorization: Bearer token", "install", "--save-dev",
        "/home/alice/projects/shipper", "-c", "import sys; print(sys.version)", "status", "--porcelain", "-n", "1000",
    };

    private static readonly string[] Users = { "root", "alice", "bob", "www-data", "postgres", "nobody" };

    private readonly string _name;
    private readonly string _executable;
    private readonly string[] _args;
    private readonly long _pid;
    private readonly long _ppid;
    private readonly string _entityId;
    private readonly string _cwd;
    private readonly string _start;
    private readonly string _sha1;
    private readonly string _sha256;
    private readonly string _userId;
    private readonly string _userName;
    private readonly string _message;

    public BenchProcessBody(int seq, Random random)
    {
        var exe = random.Next(Executables.Length);
        _executable = Executables[exe];
        _name = Path.GetFileName(_executable);
        _args = new string[1 + random.Next(5)];
        _args[0] = _executable;
        for (var i = 1; i < _args.Length; i++)
        {
            _args[i] = Words[random.Next(Words.Length)];
        }

        _pid = 1000 + random.Next(4_000_000);
        _ppid = 1 + random.Next(50_000);
        _entityId = Convert.ToBase64String(RandomBytes(random, 12));
        _cwd = random.Next(3) == 0 ? "/" : "/home/" + Users[random.Next(Users.Length)];
        _start = new DateTime(2024, 5, 17, 10, 0, 0, DateTimeKind.Utc).AddMilliseconds(seq * 7).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

        // One hash per executable, as the hash cache would give.
        var hashRandom = new Random(exe);
        _sha1 = Convert.ToHexStringLower(RandomBytes(hashRandom, 20));
        _sha256 = Convert.ToHexStringLower(RandomBytes(hashRandom, 32));
        var user = random.Next(Users.Length);
        _userId = user == 0 ? "0" : (1000 + user).ToString(System.Globalization.CultureInfo.InvariantCulture);
        _userName = Users[user];
        _message = $"Process {_name} (PID: {_pid}) by user {_userName} STARTED";
    }

    public void WriteFields(Utf8JsonWriter writer)
    {
        writer.WriteStartObject("process");
        writer.WriteString("name", _name);
        writer.WriteStartArray("args");
        foreach (var arg in _args)
        {
            writer.WriteStringValue(arg);
        }

        writer.WriteEndArray();
        writer.WriteNumber("args_count", _args.Length);
        writer.WriteNumber("pid", _pid);
        writer.WriteString("entity_id", _entityId);
        writer.WriteString("executable", _executable);
        writer.WriteString("working_directory", _cwd);
        writer.WriteString("start", _start);
        writer.WriteStartObject("parent");
        writer.WriteNumber("pid", _ppid);
        writer.WriteEndObject();
        writer.WriteStartObject("hash");
        writer.WriteString("sha1", _sha1);
        writer.WriteString("sha256", _sha256);
        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.WriteStartObject("user");
        writer.WriteString("id", _userId);
        writer.WriteString("name", _userName);
        writer.WriteStartObject("group");
        writer.WriteString("id", _userId);
        writer.WriteString("name", _userName);
        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.WriteString("message", _message);
    }

    private static byte[] RandomBytes(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }
}
