using Shipper.Benchmarks;

// Usage: dotnet run -c Release --project tests/Shipper.Benchmarks [-- --size-mib N]
//        dotnet run -c Release --project tests/Shipper.Benchmarks -- elasticsearch [--docs N]
//        dotnet run -c Release --project tests/Shipper.Benchmarks -- diskqueue [--events N] [--rounds N] [--output elasticsearch|encode] [--only CASE] [--read-ahead N] [--rate N] [--dir DIR]
if (args.Length > 0 && args[0] == "diskqueue")
{
    return await Shipper.Benchmarks.Elasticsearch.DiskQueueBenchmark.RunAsync(args);
}

if (args.Length > 0 && args[0].StartsWith("elasticsearch", StringComparison.Ordinal))
{
    return await Shipper.Benchmarks.Elasticsearch.ElasticsearchBenchmark.RunAsync(args);
}

var sizeMiB = 64;
for (var i = 0; i < args.Length; i++)
{
    if (args[i] == "--size-mib" && i + 1 < args.Length)
    {
        sizeMiB = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
    }
}

return await HashBenchmark.RunAsync(sizeMiB);
