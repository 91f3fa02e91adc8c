using System.Text;

namespace Shipper.Logging;

/// <summary>A log file that rotates by size: name, name.1 … name.(keep-1), oldest dropped.</summary>
public sealed class RotatingFile : IDisposable
{
    private readonly string _path;
    private readonly long _maxBytes;
    private readonly int _keep;
    private FileStream _stream;

    public RotatingFile(string directory, string name, long maxBytes, int keep)
    {
        Directory.CreateDirectory(directory);
        _path = Path.Combine(directory, name);
        _maxBytes = maxBytes;
        _keep = keep;
        _stream = Open();
    }

    public string FilePath => _path;

    public void Write(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line);
        if (_stream.Length + bytes.Length > _maxBytes && _stream.Length > 0)
        {
            Rotate();
        }

        _stream.Write(bytes);
        _stream.Flush();
    }

    public void Dispose() => _stream.Dispose();

    private FileStream Open()
    {
        var stream = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        File.SetUnixFileMode(_path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return stream;
    }

    private void Rotate()
    {
        _stream.Dispose();
        File.Delete($"{_path}.{_keep - 1}");
        for (var i = _keep - 2; i >= 1; i--)
        {
            if (File.Exists($"{_path}.{i}"))
            {
                File.Move($"{_path}.{i}", $"{_path}.{i + 1}");
            }
        }

        File.Move(_path, _path + ".1");
        _stream = Open();
    }
}
