using System.Collections;
using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace NodeAgent.Server.Errors;

/// <summary>
/// Finds an enum value a message carries that its enum does not define (proto3 parsers keep
/// unknown numbers, so 99 would otherwise flow into the domain as if it meant something). Walks
/// every field by descriptor: nested messages, repeated fields and map values.
/// </summary>
internal static class UndefinedEnumCheck
{
    /// <summary>The first undefined enum value as "path: 99 is not a Enum (allowed: A, B)", or null.</summary>
    public static string? Find(IMessage message) => Walk(message, "");

    private static string? Walk(IMessage message, string prefix)
    {
        foreach (var field in message.Descriptor.Fields.InFieldNumberOrder())
        {
            var path = prefix + field.Name;
            var value = field.Accessor.GetValue(message);
            string? error = field switch
            {
                { IsMap: true } => WalkMap(field, (IDictionary)value, path),
                { IsRepeated: true } => WalkList(field, (IList)value, path),
                _ => WalkValue(field, value, path),
            };
            if (error is not null)
            {
                return error;
            }
        }
        return null;
    }

    private static string? WalkList(FieldDescriptor field, IList values, string path)
    {
        for (var i = 0; i < values.Count; i++)
        {
            if (WalkValue(field, values[i], string.Create(CultureInfo.InvariantCulture, $"{path}[{i}]")) is { } error)
            {
                return error;
            }
        }
        return null;
    }

    private static string? WalkMap(FieldDescriptor field, IDictionary entries, string path)
    {
        var valueField = field.MessageType.FindFieldByNumber(2);
        foreach (DictionaryEntry entry in entries)
        {
            if (WalkValue(valueField, entry.Value, string.Create(CultureInfo.InvariantCulture, $"{path}[{entry.Key}]")) is { } error)
            {
                return error;
            }
        }
        return null;
    }

    private static string? WalkValue(FieldDescriptor field, object? value, string path) => field.FieldType switch
    {
        FieldType.Enum => CheckEnum(field.EnumType, Convert.ToInt32(value, CultureInfo.InvariantCulture), path),
        FieldType.Message or FieldType.Group when value is IMessage nested => Walk(nested, path + "."),
        _ => null,
    };

    private static string? CheckEnum(EnumDescriptor type, int number, string path)
        => type.FindValueByNumber(number) is not null
            ? null
            : string.Create(CultureInfo.InvariantCulture,
                $"{path}: {number} is not a {type.Name} (allowed: {string.Join(", ", type.Values.Select(v => v.Name))})");
}
