namespace Shipper.Module.Registry;

public delegate IDataset DatasetFactory(DatasetContext context);
