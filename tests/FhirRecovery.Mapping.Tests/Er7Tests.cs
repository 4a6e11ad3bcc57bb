using FhirRecovery.Mapping.Hl7v2;

namespace FhirRecovery.Mapping.Tests;

public class Er7Tests
{
    [Fact]
    public void Delimiters_come_from_MSH_and_fields_components_subcomponents_repetitions_are_split()
    {
        var message = Er7Parser.Parse("MSH#$*!@#APP#FAC#####REF$I12$REF_I12#42#P#2.5.1\rPID#1##A1$$$NS@1.2.3@ISO$MR*B2$$$NS2$PI##Doe$Jane\r");
        Assert.Equal(new Er7Delimiters('#', '$', '*', '!', '@'), message.Delimiters);
        Assert.Equal("REF", message.MessageType);
        Assert.Equal("I12", message.TriggerEvent);
        var pid = message.First("PID")!;
        var ids = pid[3].Repetitions.ToList();
        Assert.Equal(2, ids.Count);
        Assert.Equal("A1", ids[0].Component(1));
        Assert.Equal("NS", ids[0].Component(4, 1));
        Assert.Equal("1.2.3", ids[0].Component(4, 2));
        Assert.Equal("ISO", ids[0].ComponentField(4).Component(3));
        Assert.Equal("PI", ids[1].Component(5));
        Assert.Equal("Jane", pid[5].Component(2));
        Assert.Equal("#", message.Header[1].Raw);
        Assert.Equal("$*!@", message.Header[2].Raw);
    }

    [Fact]
    public void Escape_sequences_are_decoded_and_written_back()
    {
        var message = Er7Parser.Parse("MSH|^~\\&|A|B|||20260101||REF^I12|1|P|2.5.1\rNTE|1|L|a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\X41\\\\.br\\line2\r");
        Assert.Equal("a|b^c&d~e\\fA\nline2", message.First("NTE")![3].Text);

        var builder = new Er7MessageBuilder();
        builder.Segment("MSH").Set(9, "REF", "I12");
        builder.Segment("NTE").Set(3, "a|b^c&d~e\\f\nline2");
        var written = builder.ToString();
        Assert.Contains("NTE|||a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\.br\\line2", written);
        Assert.StartsWith("MSH|^~\\&|", written);
        Assert.Equal("a|b^c&d~e\\f\nline2", Er7Parser.Parse(written).First("NTE")![3].Text);
    }

    [Fact]
    public void Mllp_frames_are_stripped_and_line_feeds_accepted()
    {
        var framed = MllpFraming.Frame("MSH|^~\\&|A|B|||20260101||ORU^R01|1|P|2.5.1\r\nPID|1||X\n");
        var message = Er7Parser.Parse(framed);
        Assert.Equal(2, message.Segments.Count);
        Assert.Equal("X", message.First("PID")![3].Value);
    }

    [Fact]
    public async Task Mllp_stream_reader_yields_each_framed_message()
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes("noise" + MllpFraming.Frame("MSH|^~\\&|A|1") + MllpFraming.Frame("MSH|^~\\&|B|2"));
        var messages = new List<string>();
        await foreach (var m in MllpFraming.ReadMessagesAsync(new MemoryStream(bytes)))
        {
            messages.Add(m);
        }

        Assert.Equal(["MSH|^~\\&|A|1", "MSH|^~\\&|B|2"], messages);
    }

    [Theory]
    [InlineData("", "MSH")]
    [InlineData("PID|1||X", "MSH")]
    [InlineData("MSHA^~\\&|x", "MSH-1")]
    [InlineData("MSH|^~|x", "MSH-2")]
    [InlineData("MSH|^^\\&|x", "MSH-2")]
    [InlineData("MSH|^~\\&|A\rpid|1", "pid")]
    [InlineData("MSH|^~\\&|A\rPIDX1", "PID")]
    [InlineData("MSH|^~\\&|A\rMSH|^~\\&|B", "MSH")]
    public void Malformed_structure_is_a_rejection_naming_the_segment(string text, string where)
    {
        var ex = Assert.Throws<Hl7v2Exception>(() => Er7Parser.Parse(text));
        Assert.True(ex.IsReject);
        Assert.StartsWith(where, ex.Errors[0].Location!.Value.ToString());
    }

    [Theory]
    [InlineData("20260309", "2026-03-09")]
    [InlineData("2026", "2026")]
    [InlineData("202603", "2026-03")]
    [InlineData("20260309101500-0800", "2026-03-09T10:15:00-08:00")]
    [InlineData("202603091015+0130", "2026-03-09T10:15:00+01:30")]
    [InlineData("20260309101500.123+0000", "2026-03-09T10:15:00.123+00:00")]
    public void Timestamps_keep_their_precision(string v2, string fhir)
    {
        Assert.Equal(fhir, V2Types.ParseTimestamp(v2, new Er7Location("X", 1, 1), TimeZoneInfo.Utc));
        if (v2.Length > 8 && !v2.Contains('.'))
        {
            Assert.Equal(fhir, V2Types.ParseTimestamp(V2Types.FormatFhirDateTime(fhir)!, new Er7Location("X", 1, 1), TimeZoneInfo.Utc));
        }
    }

    [Fact]
    public void Local_times_are_read_in_the_ehr_time_zone()
    {
        var oslo = TimeZoneInfo.FindSystemTimeZoneById("Europe/Oslo");
        Assert.Equal("2026-04-02T13:30:00+02:00", V2Types.ParseTimestamp("20260402133000", new Er7Location("RF1", 2, 7), oslo));
        Assert.Equal("2026-01-02T13:30:00+01:00", V2Types.ParseTimestamp("20260102133000", new Er7Location("RF1", 2, 7), oslo));
    }

    [Theory]
    [InlineData("2026130")]
    [InlineData("20261301")]
    [InlineData("20260230")]
    [InlineData("20260101256000")]
    [InlineData("2026-01-01")]
    [InlineData("20260101+01")]
    public void Bad_timestamps_are_data_type_errors(string value)
    {
        var ex = Assert.Throws<Hl7v2Exception>(() => V2Types.ParseTimestamp(value, new Er7Location("RF1", 2, 7), TimeZoneInfo.Utc));
        Assert.Equal(Hl7ErrorCodes.DataTypeError, ex.Errors[0].Code);
        Assert.Equal("RF1-7", ex.Errors[0].Location.ToString());
    }

    [Fact]
    public void Ack_names_segment_and_field_in_ERR()
    {
        var message = Er7Parser.Parse("MSH|^~\\&|NWEHR|NW|FR|PEER|20260101||REF^I12^REF_I12|C42|P|2.5.1\r");
        var ack = Hl7v2Acknowledgement.Create(message, AckCode.AE,
            [new Hl7v2Error(new Er7Location("RF1", 2, 7), Hl7ErrorCodes.DataTypeError, "bad date")], DateTimeOffset.Parse("2026-01-01T00:00:00Z"), "A1");
        var parsed = Er7Parser.Parse(ack);
        Assert.Equal("ACK", parsed.MessageType);
        Assert.Equal("I12", parsed.TriggerEvent);
        Assert.Equal("NWEHR", parsed.Header[5].Value);
        Assert.Equal("AE", parsed.First("MSA")![1].Value);
        Assert.Equal("C42", parsed.First("MSA")![2].Value);
        var err = parsed.First("ERR")!;
        Assert.Equal("RF1", err[2].Component(1));
        Assert.Equal("2", err[2].Component(2));
        Assert.Equal("7", err[2].Component(3));
        Assert.Equal("102", err[3].Component(1));
        Assert.Equal("HL70357", err[3].Component(3));
        Assert.Contains("bad date", err[8].Text);
    }
}
