using System.Text;
using Shipper.Module.Config;
using Shipper.Module.System.Process.Hashing;

namespace Shipper.Config;

/// <summary>
/// Reads a config file's text. Only a regular file is a config: the file is opened non-blocking and checked
/// with fstat before anything is read, so a FIFO (whose open or read would wait forever for a writer) or a
/// device is refused with a message naming what it is, and so is a directory. At most
/// <see cref="ConfigLimits.MaxFileBytes"/> are read.
/// </summary>
public static class ConfigFile
{
    private const int ENotDir = 20;

    public static string ReadText(string path)
    {
        var fd = NativeFile.OpenForReading(path);
        if (fd < 0)
        {
            throw -fd is NativeFile.ENoEnt or ENotDir
                ? Error(path, $"config file {path} not found")
                : Error(path, $"cannot read config file {path}: {NativeFile.Describe(-fd)}");
        }

        try
        {
            var statError = NativeFile.Stat(fd, out var identity);
            if (statError != 0)
            {
                throw Error(path, $"cannot read config file {path}: {NativeFile.Describe(statError)}");
            }

            if (!identity.IsRegularFile)
            {
                throw Error(path, $"config file {path} is a {identity.FileTypeName}, not a regular file");
            }

            if (identity.Size > ConfigLimits.MaxFileBytes)
            {
                throw Error(path, $"config file {path} is {identity.Size} bytes, more than the limit of {ConfigLimits.MaxFileBytes} bytes for a config file");
            }

            // Read to the end rather than trusting the size: the file may grow while it is read, and the bound holds anyway.
            var buffer = new byte[Math.Min(ConfigLimits.MaxFileBytes + 1, (int)identity.Size + 1)];
            var length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > ConfigLimits.MaxFileBytes)
                    {
                        // It grew past the limit after the size was checked.
                        throw Error(path, $"config file {path} is more than the limit of {ConfigLimits.MaxFileBytes} bytes for a config file");
                    }

                    Array.Resize(ref buffer, Math.Min(ConfigLimits.MaxFileBytes + 1, buffer.Length * 2));
                }

                var n = NativeFile.ReadAt(fd, buffer.AsSpan(length), length);
                if (n < 0)
                {
                    throw Error(path, $"cannot read config file {path}: {NativeFile.Describe(-n)}");
                }

                if (n == 0)
                {
                    break;
                }

                length += n;
            }

            var text = buffer.AsSpan(0, length);
            var preamble = Encoding.UTF8.Preamble;
            if (text.StartsWith(preamble))
            {
                text = text[preamble.Length..];
            }

            return Encoding.UTF8.GetString(text);
        }
        finally
        {
            NativeFile.Close(fd);
        }
    }

    private static ConfigException Error(string path, string problem) => new("", new SourceLocation(path, 0, 0), problem);
}
