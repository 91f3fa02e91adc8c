using System.Text;
using Shipper.Config;

namespace Shipper.Logging;

/// <summary>
/// A log file that rotates by size: name, name.1 … name.(keep-1), oldest dropped. Files are 0600 (libbeat's
/// <c>logging.files.permissions</c> default) and opened through <see cref="PrivateFile"/>: a link planted in
/// their place is refused, never appended to; rotation renames and deletes names, never what a link points to.
/// </summary>
public sealed class RotatingFile : IDisposable
{
    private readonly string _path;
    private readonly long _maxBytes;
    private readonly int _keep;
    private FileStream _stream;

    public RotatingFile(string directory, string name, long maxBytes, int keep)
    {
        Directory.CreateDirectory(directory, PrivateDirectory.OwnerOnly);
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

    private FileStream Open() => PrivateFile.OpenForAppend(_path);

    private void Rotate()
    {
        _stream.Dispose();
        File.Delete($"{_path}.{_keep - 1}");
        for (var i = _keep - 2; i >= 1; i--)
        {
            if (File.Exists($"{_path}.{i}") || new FileInfo($"{_path}.{i}").LinkTarget is not null)
            {
                File.Move($"{_path}.{i}", $"{_path}.{i + 1}", overwrite: true);
            }
        }

        File.Move(_path, _path + ".1", overwrite: true);
        _stream = Open();
    }
}
